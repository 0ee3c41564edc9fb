package metrics

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// exercised is a Metrics with one sample in every series, gauges included.
func exercised(t *testing.T) *Metrics {
	t.Helper()
	m := New()
	m.Request("POST /oauth/token", 200, time.Millisecond)
	m.CodeIssued("email", "email", "code")
	m.CodeChecked("email", "ok")
	m.MessageQueued("smtp")
	m.MessageSent("smtp")
	m.MessageRetried("smtp")
	m.MessageFailed("smtp")
	m.RateLimited("start:ip")
	m.BlockCreated("pair")
	m.Signed("RS256")
	m.WatchOutbox(func(context.Context) (OutboxStats, error) { return OutboxStats{Pending: 2, Oldest: time.Second}, nil })
	m.WatchPools(func() []store.PoolStats { return []store.PoolStats{{Pool: "main", Max: 4}} })
	m.storeCalls.WithLabelValues("GuessCode").Observe(0.001)
	return m
}

func TestDashboard_UsesOnlySeriesThatExist(t *testing.T) {
	families, err := exercised(t).Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range families {
		have[f.GetName()] = true
	}
	dash, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`\b(?:sesame|go|process)_[a-z_]+`).FindAllString(string(dash), -1)
	if len(used) == 0 {
		t.Fatal("the dashboard names no series")
	}
	for _, name := range used {
		base := name
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && have[b] {
				base = b
			}
		}
		if !have[base] {
			t.Errorf("the dashboard uses %s, which Sesame does not expose", name)
		}
	}
}

func TestNil_CountsNothingAndDoesNotPanic(t *testing.T) {
	var m *Metrics
	m.Request("GET /healthz", 200, time.Millisecond)
	m.CodeIssued("email", "email", "code")
	m.CodeChecked("email", "ok")
	m.MessageQueued("smtp")
	m.MessageSent("smtp")
	m.MessageRetried("smtp")
	m.MessageFailed("smtp")
	m.RateLimited("start:ip")
	m.BlockCreated("pair")
	m.Signed("RS256")
	if st := m.TimeStore(nil); st != nil {
		t.Errorf("a nil Metrics wrapped the store")
	}
}

// Counting a request is on every request's path: it must not allocate.
func TestRequest_DoesNotAllocate(t *testing.T) {
	m := New()
	m.Request("POST /oauth/token", 200, time.Millisecond)
	if n := testing.AllocsPerRun(100, func() { m.Request("POST /oauth/token", 200, time.Millisecond) }); n != 0 {
		t.Errorf("Request allocates %v times", n)
	}
}

// readyStore answers Ready and nothing else.
type readyStore struct{ store.Store }

func (readyStore) Ready(context.Context) error { return nil }

// A store call is timed on every request's path: timing it must not
// allocate.
func TestTimeStore_ObservesEachCallWithoutAllocating(t *testing.T) {
	m := New()
	st := m.TimeStore(readyStore{})
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { _ = st.Ready(ctx) }); n != 0 {
		t.Errorf("a timed call allocates %v times", n)
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "sesame_store_call_duration_seconds" {
			if got := f.GetMetric()[0].GetHistogram().GetSampleCount(); got != 101 {
				t.Errorf("observed %d calls, want 101", got)
			}
			return
		}
	}
	t.Error("no sesame_store_call_duration_seconds")
}
