package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// newEvent returns a limit_wc event created at now, with every field set.
func newEvent(id string, now time.Time) store.Event {
	return store.Event{
		ID:          id,
		Type:        "limit_wc",
		Description: "Blocked after too many failed verifications from one IP",
		ClientID:    "cli-a",
		Connection:  "email",
		Identifier:  "a@example.com",
		IP:          "192.0.2.1",
		UserID:      "email|000000000000000000000001",
		CreatedAt:   now,
	}
}

func addEvent(t *testing.T, st store.Store, e store.Event) {
	t.Helper()
	if err := st.AddEvent(ctx(t), e); err != nil {
		t.Fatalf("AddEvent(%s): %v", e.ID, err)
	}
}

// checkEvents checks the IDs Events(limit) returns, in order.
func checkEvents(t *testing.T, st store.Store, limit int, want ...string) []store.Event {
	t.Helper()
	events, err := st.Events(ctx(t), limit)
	if err != nil {
		t.Fatalf("Events(%d): %v", limit, err)
	}
	got := make([]string, 0, len(events))
	for _, e := range events {
		got = append(got, e.ID)
	}
	if want == nil {
		want = []string{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Events(%d) = %q, want %q", limit, got, want)
	}
	return events
}

var eventTests = []test{
	{"NewestFirstThenLatestAdded", func(t *testing.T, s *suite) {
		st := s.open(t)
		addEvent(t, st, newEvent("e1", t0))
		addEvent(t, st, newEvent("e2", t0.Add(time.Second)))
		addEvent(t, st, newEvent("e3", t0.Add(time.Second)))  // same instant, added later
		addEvent(t, st, newEvent("e4", t0.Add(-time.Second))) // added last, but older
		got := checkEvents(t, st, 10, "e3", "e2", "e1", "e4")
		if want := newEvent("e3", t0.Add(time.Second)); len(got) > 0 && !reflect.DeepEqual(got[0], want) {
			t.Errorf("Events()[0] =\n%+v\nwant\n%+v", got[0], want)
		}
		checkEvents(t, st, 2, "e3", "e2")
		checkEvents(t, st, 0)
	}},
	{"NoEventsIsAnEmptyList", func(t *testing.T, s *suite) {
		st := s.open(t)
		checkEvents(t, st, 10)
	}},
	{"DuplicateIDIsRefused", func(t *testing.T, s *suite) {
		st := s.open(t)
		addEvent(t, st, newEvent("e1", t0))
		if err := st.AddEvent(ctx(t), newEvent("e1", t0.Add(time.Second))); !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("AddEvent with a known ID = %v, want ErrAlreadyExists", err)
		}
		checkEvents(t, st, 10, "e1")
	}},
}
