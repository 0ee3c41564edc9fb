package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

var idRE = regexp.MustCompile(`^900\d{53}$`)

func TestNewID_HasAuth0sShapeAndSortsByTimeThenOrderMade(t *testing.T) {
	at := time.Date(2026, 12, 2, 16, 27, 16, 394_000_000, time.UTC)
	var ids []string
	for i := range 1000 {
		// The same millisecond, then a later one, then a clock that went
		// back: the IDs still come out in the order they were made.
		now := at
		switch {
		case i > 600:
			now = at.Add(-time.Second)
		case i > 300:
			now = at.Add(time.Millisecond)
		}
		id, err := NewID(now)
		if err != nil {
			t.Fatal(err)
		}
		if !idRE.MatchString(id) {
			t.Fatalf("NewID = %q, want 56 digits beginning with 900", id)
		}
		ids = append(ids, id)
	}
	if got := ids[0][:20]; got != "90020261202162716394" {
		t.Errorf("the ID begins %q, want 900 and the time 20261202162716394", got)
	}
	if !sort.StringsAreSorted(ids) {
		t.Errorf("IDs made one after another do not sort in that order")
	}
	later, _ := NewID(at.Add(time.Hour))
	if later <= ids[len(ids)-1] || later[:20] != "90020261202172716394" {
		t.Errorf("an hour later: %q, want after %q with its own time", later, ids[len(ids)-1])
	}
}

func TestNewID_ConcurrentIDsAreDistinct(t *testing.T) {
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
		wg   sync.WaitGroup
	)
	now := time.Now()
	for range 8 {
		wg.Go(func() {
			for range 200 {
				id, err := NewID(now)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[id] {
					t.Errorf("duplicate ID %s", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// fakeAdder records the batches it was given.
type fakeAdder struct {
	mu      sync.Mutex
	batches [][]store.Event
	block   chan struct{} // when set, AddEvents waits for it
	err     error
}

func (f *fakeAdder) AddEvents(_ context.Context, events ...store.Event) error {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, events)
	return f.err
}

func (f *fakeAdder) events() []store.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []store.Event
	for _, b := range f.batches {
		all = append(all, b...)
	}
	return all
}

func TestRecorder_WritesInBatchesAndFlushWaitsForThem(t *testing.T) {
	f := &fakeAdder{block: make(chan struct{})}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := &Recorder{Store: f, Now: func() time.Time { return at }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()

	// The first event is taken and its write waits; meanwhile nine more
	// queue, and go together in the next batch.
	if err := r.Record(ctx, store.Event{Type: "s"}); err != nil {
		t.Fatal(err)
	}
	for range 9 {
		if err := r.Record(ctx, store.Event{Type: "f"}); err != nil {
			t.Fatal(err)
		}
	}
	flushed := make(chan error)
	go func() { flushed <- r.Flush(context.Background()) }()
	select {
	case <-flushed:
		t.Fatal("Flush returned before the events were written")
	case <-time.After(50 * time.Millisecond):
	}
	close(f.block)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	events := f.events()
	if len(events) != 10 || len(f.batches) > 2 {
		t.Errorf("%d events in %d batches, want 10 in at most 2", len(events), len(f.batches))
	}
	for _, e := range events {
		if !idRE.MatchString(e.ID) || !e.CreatedAt.Equal(at) {
			t.Errorf("event %+v: want an ID and the time %v", e, at)
		}
	}
	// What is queued when Run is told to stop is still written.
	f.block = nil
	r.Record(ctx, store.Event{Type: "slo"})
	cancel()
	<-done
	if n := len(f.events()); n != 11 {
		t.Errorf("%d events written after Run stopped, want 11", n)
	}
}

func TestRecorder_AFullBufferDropsInsteadOfWaiting(t *testing.T) {
	r := &Recorder{Store: &fakeAdder{}, Buffer: 2}
	for i := range 2 {
		if err := r.Record(context.Background(), store.Event{Type: "s"}); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if err := r.Record(context.Background(), store.Event{Type: "s"}); !errors.Is(err, ErrDropped) {
		t.Errorf("Record on a full buffer = %v, want ErrDropped", err)
	}
}

func TestRecorder_KeepsTheIDAndTimeAnEventHas(t *testing.T) {
	f := &fakeAdder{}
	r := &Recorder{Store: f}
	at := time.Date(2025, 5, 5, 5, 5, 5, 0, time.UTC)
	r.Record(context.Background(), store.Event{ID: "given", Type: "s", CreatedAt: at})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.Run(ctx) // writes what is queued and returns
	if e := f.events(); len(e) != 1 || e[0].ID != "given" || !e[0].CreatedAt.Equal(at) {
		t.Errorf("events %+v", e)
	}
}

func TestAPIOperation_LogsWritesAndFailuresOnly(t *testing.T) {
	c := Caller{ClientID: "mgmt", ClientName: "Deploy CLI", IP: "192.0.2.1", UserAgent: "a0deploy"}
	for _, tc := range []struct {
		method, path string
		status       int
		want, desc   string
	}{
		{"POST", "/api/v2/clients", 201, "sapi", "Create /api/v2/clients"},
		{"PATCH", "/api/v2/connections/con_1", 200, "sapi", "Update /api/v2/connections/con_1"},
		{"DELETE", "/api/v2/user-blocks", 204, "sapi", "Delete /api/v2/user-blocks"},
		{"GET", "/api/v2/clients", 200, "", ""},
		{"GET", "/api/v2/clients/nope", 404, "fapi", "Read /api/v2/clients/nope (404)"},
		{"POST", "/api/v2/clients", 403, "fapi", "Create /api/v2/clients (403)"},
	} {
		e, ok := APIOperation(c, tc.method, tc.path, tc.status)
		if tc.want == "" {
			if ok {
				t.Errorf("%s %s %d is logged: %+v", tc.method, tc.path, tc.status, e)
			}
			continue
		}
		if !ok || e.Type != tc.want || e.Description != tc.desc || e.ClientID != "mgmt" || e.ClientName != "Deploy CLI" ||
			e.IP != "192.0.2.1" || e.UserAgent != "a0deploy" {
			t.Errorf("%s %s %d = %+v, %v; want %s %q", tc.method, tc.path, tc.status, e, ok, tc.want, tc.desc)
		}
		var d map[string]any
		if err := json.Unmarshal(e.Details, &d); err != nil || d["request"] == nil || d["response"] == nil {
			t.Errorf("details %s: %v", e.Details, err)
		}
	}
}

func TestClientCredentials_SuccessAndFailure(t *testing.T) {
	c := Caller{ClientID: "m2m", IP: "192.0.2.9"}
	ok := ClientCredentials(c, "https://api.example.com/", "", "")
	if ok.Type != "seccft" || ok.ClientID != "m2m" || string(ok.Details) != `{"audience":"https://api.example.com/","grant_type":"client_credentials"}` {
		t.Errorf("success = %+v (%s)", ok, ok.Details)
	}
	bad := ClientCredentials(c, "https://api.example.com/", "access_denied", "Client has not been granted scopes: read:things")
	if bad.Type != "feccft" || bad.Description != "Client has not been granted scopes: read:things" {
		t.Errorf("failure = %+v", bad)
	}
}
