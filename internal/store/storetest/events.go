package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// newEvent returns a limit_wc event created at now, with every field set.
func newEvent(id string, now time.Time) store.Event {
	return store.Event{
		ID:           id,
		Type:         "limit_wc",
		Description:  "Blocked after too many failed verifications from one IP",
		ClientID:     "cli-a",
		ClientName:   "App A",
		Connection:   "email",
		ConnectionID: "con_0000000000000001",
		UserID:       "email|000000000000000000000001",
		Identifier:   "a@example.com",
		IP:           "192.0.2.1",
		UserAgent:    "Mozilla/5.0 (X11; Linux x86_64) \xff", // need not be UTF-8
		Details:      []byte(`{"error":"too_many_attempts"}`),
		CreatedAt:    now,
	}
}

// event is newEvent with its type, client and user changed.
func event(id string, now time.Time, typ, clientID, userID string) store.Event {
	e := newEvent(id, now)
	e.Type, e.ClientID, e.UserID = typ, clientID, userID
	return e
}

func addEvent(t *testing.T, st store.Store, events ...store.Event) {
	t.Helper()
	if err := st.AddEvents(ctx(t), events...); err != nil {
		t.Fatalf("AddEvents: %v", err)
	}
}

// checkEvents checks the IDs of the events q selects, in order, and returns
// the page.
func checkEvents(t *testing.T, st store.Store, q store.EventQuery, want ...string) store.EventPage {
	t.Helper()
	page, err := st.Events(ctx(t), q)
	if err != nil {
		t.Fatalf("Events(%+v): %v", q, err)
	}
	got := make([]string, 0, len(page.Events))
	for _, e := range page.Events {
		got = append(got, e.ID)
	}
	if want == nil {
		want = []string{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Events(%+v) = %q, want %q", q, got, want)
	}
	return page
}

// newest is the query of the newest n events.
func newest(n int) store.EventQuery { return store.EventQuery{PerPage: n} }

// eventIDs are n IDs that sort in order: ev00, ev01, ...
func eventIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("ev%02d", i)
	}
	return ids
}

var eventTests = []test{
	{"NewestFirstThenGreatestID", func(t *testing.T, s *suite) {
		st := s.open(t)
		addEvent(t, st, newEvent("e1", t0))
		addEvent(t, st, newEvent("e3", t0.Add(time.Second)))
		addEvent(t, st, newEvent("e2", t0.Add(time.Second)))  // the same instant, a smaller ID
		addEvent(t, st, newEvent("e4", t0.Add(-time.Second))) // added last, but older
		got := checkEvents(t, st, newest(10), "e3", "e2", "e1", "e4")
		if want := newEvent("e3", t0.Add(time.Second)); len(got.Events) > 0 && !reflect.DeepEqual(got.Events[0], want) {
			t.Errorf("Events()[0] =\n%+v\nwant\n%+v", got.Events[0], want)
		}
		checkEvents(t, st, newest(2), "e3", "e2")
		checkEvents(t, st, store.EventQuery{PerPage: 2, Ascending: true}, "e4", "e1")
	}},
	{"EveryFieldComesBack", func(t *testing.T, s *suite) {
		st := s.open(t)
		full := newEvent("full", t0)
		bare := store.Event{ID: "bare", Type: "s", CreatedAt: t0.Add(time.Millisecond)}
		addEvent(t, st, full, bare)
		for _, want := range []store.Event{full, bare} {
			got, err := st.Event(ctx(t), want.ID)
			if err != nil {
				t.Fatalf("Event(%s): %v", want.ID, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Event(%s) =\n%+v\nwant\n%+v", want.ID, got, want)
			}
		}
		if _, err := st.Event(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Event(unknown) = %v, want ErrNotFound", err)
		}
	}},
	{"NoEventsIsAnEmptyPage", func(t *testing.T, s *suite) {
		st := s.open(t)
		page := checkEvents(t, st, store.EventQuery{IncludeTotal: true})
		if page.Total != 0 {
			t.Errorf("Total = %d, want 0", page.Total)
		}
		checkEvents(t, st, store.EventQuery{After: "0"})
	}},
	{"DuplicateIDIsRefusedAndTheBatchWithIt", func(t *testing.T, s *suite) {
		st := s.open(t)
		addEvent(t, st, newEvent("e1", t0))
		err := st.AddEvents(ctx(t), newEvent("e2", t0), newEvent("e1", t0.Add(time.Second)))
		if !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("AddEvents with a known ID = %v, want ErrAlreadyExists", err)
		}
		checkEvents(t, st, newest(10), "e1")
	}},
	{"FiltersCombine", func(t *testing.T, s *suite) {
		st := s.open(t)
		addEvent(t, st,
			event("a", t0, "s", "cli-a", "email|1"),
			event("b", t0.Add(1*time.Minute), "f", "cli-a", ""),
			event("c", t0.Add(2*time.Minute), "s", "cli-b", "email|2"),
			event("d", t0.Add(3*time.Minute), "cls", "cli-b", "email|1"),
			event("e", t0.Add(4*time.Minute), "s", "cli-a", "email|1"))
		checkEvents(t, st, store.EventQuery{Types: []string{"s"}}, "e", "c", "a")
		checkEvents(t, st, store.EventQuery{Types: []string{"f", "cls"}}, "d", "b")
		checkEvents(t, st, store.EventQuery{Types: []string{"nothing"}})
		checkEvents(t, st, store.EventQuery{UserID: "email|1"}, "e", "d", "a")
		checkEvents(t, st, store.EventQuery{ClientID: "cli-b"}, "d", "c")
		checkEvents(t, st, store.EventQuery{Types: []string{"s"}, UserID: "email|1", ClientID: "cli-a"}, "e", "a")
		// Since is inclusive, Until exclusive.
		checkEvents(t, st, store.EventQuery{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, "c", "b")
		checkEvents(t, st, store.EventQuery{Since: t0.Add(3 * time.Minute)}, "e", "d")
		checkEvents(t, st, store.EventQuery{Until: t0.Add(time.Minute)}, "a")
		page := checkEvents(t, st, store.EventQuery{Types: []string{"s"}, PerPage: 1, IncludeTotal: true}, "e")
		if page.Total != 3 {
			t.Errorf("Total of type s = %d, want 3", page.Total)
		}
	}},
	{"PagesByDate", func(t *testing.T, s *suite) {
		st := s.open(t)
		ids := eventIDs(7)
		for i, id := range ids {
			addEvent(t, st, newEvent(id, t0.Add(time.Duration(i)*time.Second)))
		}
		page := checkEvents(t, st, store.EventQuery{PerPage: 3, IncludeTotal: true}, "ev06", "ev05", "ev04")
		if page.Total != 7 {
			t.Errorf("Total = %d, want 7", page.Total)
		}
		checkEvents(t, st, store.EventQuery{Page: 1, PerPage: 3}, "ev03", "ev02", "ev01")
		checkEvents(t, st, store.EventQuery{Page: 2, PerPage: 3}, "ev00")
		checkEvents(t, st, store.EventQuery{Page: 3, PerPage: 3})
		checkEvents(t, st, store.EventQuery{Page: 1, PerPage: 3, Ascending: true}, "ev03", "ev04", "ev05")
		// Without IncludeTotal, no count.
		if page := checkEvents(t, st, store.EventQuery{PerPage: 1}, "ev06"); page.Total != 0 {
			t.Errorf("Total without IncludeTotal = %d, want 0", page.Total)
		}
	}},
	{"PageSizeIsAtMostOneHundred", func(t *testing.T, s *suite) {
		st := s.open(t)
		var events []store.Event
		for i := range store.MaxEventPage + 5 {
			events = append(events, newEvent(fmt.Sprintf("ev%03d", i), t0.Add(time.Duration(i)*time.Millisecond)))
		}
		addEvent(t, st, events...)
		for _, q := range []store.EventQuery{{}, {PerPage: 1000}, {After: "0"}, {After: "0", Take: 1000}} {
			page, err := st.Events(ctx(t), q)
			if err != nil || len(page.Events) != store.MaxEventPage {
				t.Errorf("Events(%+v) = %d events, %v; want %d", q, len(page.Events), err, store.MaxEventPage)
			}
		}
	}},
	{"CheckpointPagingGoesOnFromAnID", func(t *testing.T, s *suite) {
		st := s.open(t)
		// IDs in the order of their times, added out of order: checkpoint
		// paging follows the IDs.
		addEvent(t, st, event("ev03", t0.Add(3*time.Second), "f", "cli-b", ""))
		addEvent(t, st, event("ev01", t0.Add(1*time.Second), "s", "cli-a", "email|1"))
		addEvent(t, st, event("ev04", t0.Add(4*time.Second), "s", "cli-a", "email|1"))
		addEvent(t, st, event("ev02", t0.Add(2*time.Second), "cls", "cli-a", ""))
		addEvent(t, st, event("ev05", t0.Add(5*time.Second), "s", "cli-b", "email|2"))
		checkEvents(t, st, store.EventQuery{After: "0", Take: 2}, "ev01", "ev02")
		checkEvents(t, st, store.EventQuery{After: "ev02", Take: 2}, "ev03", "ev04")
		checkEvents(t, st, store.EventQuery{After: "ev04", Take: 2}, "ev05")
		checkEvents(t, st, store.EventQuery{After: "ev05", Take: 2})
		// The filters apply; paging and sort options do not.
		checkEvents(t, st, store.EventQuery{After: "ev01", Types: []string{"s"}}, "ev04", "ev05")
		checkEvents(t, st, store.EventQuery{After: "0", ClientID: "cli-a", Page: 3, PerPage: 1}, "ev01", "ev02", "ev04")
		page := checkEvents(t, st, store.EventQuery{After: "0", UserID: "email|1", IncludeTotal: true, Ascending: false}, "ev01", "ev04")
		if page.Total != 0 {
			t.Errorf("Total with checkpoint paging = %d, want 0 (not counted)", page.Total)
		}
	}},
	{"CreateCodeAddsItsEventInItsTransaction", func(t *testing.T, s *suite) {
		st := s.open(t)
		ev := event("cs-1", t0, "cs", "cli-a", "")
		if _, err := st.CreateCode(ctx(t), newCode("c1", "email", "a@example.com", "111111", t0), nil, &ev); err != nil {
			t.Fatal(err)
		}
		// A start that a bucket refuses writes neither its code nor its
		// event.
		one := store.Limit{Burst: 1, Per: time.Hour}
		take := store.Take{Key: "rcpt", Limit: one}
		ev2, ev3 := event("cs-2", t0, "cs", "cli-a", ""), event("cs-3", t0, "cs", "cli-a", "")
		if _, err := st.CreateCode(ctx(t), newCode("c2", "email", "b@example.com", "222222", t0), nil, &ev2, take); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateCode(ctx(t), newCode("c3", "email", "b@example.com", "333333", t0), nil, &ev3, take); !errors.Is(err, store.ErrRateLimited) {
			t.Fatalf("CreateCode over the limit = %v, want ErrRateLimited", err)
		}
		// A duplicate code writes no event either: one transaction.
		ev4 := event("cs-4", t0, "cs", "cli-a", "")
		if _, err := st.CreateCode(ctx(t), newCode("c1", "email", "c@example.com", "444444", t0), nil, &ev4); !errors.Is(err, store.ErrAlreadyExists) {
			t.Fatalf("CreateCode with a known ID = %v, want ErrAlreadyExists", err)
		}
		checkEvents(t, st, store.EventQuery{Ascending: true}, "cs-1", "cs-2")
	}},
	{"GuessAddsItsLogInItsTransaction", func(t *testing.T, s *suite) {
		st := s.open(t)
		createCode(t, st, newCode("c1", "email", "a@example.com", "123456", t0), nil)
		var outcomes []error
		g := guard("192.0.2.1", 2, 0, 0) // the second wrong guess blocks the pair
		n := 0
		g.Log = func(res store.Guessed, outcome error) []store.Event {
			outcomes = append(outcomes, outcome)
			n++
			var events []store.Event
			for _, b := range res.NewBlocks {
				events = append(events, event(fmt.Sprint("g", n, "-", b.Reason), t0, b.Reason, "cli-a", ""))
			}
			typ, user := "f", ""
			if outcome == nil {
				typ, user = "s", res.Code.ID
			}
			return append(events, event(fmt.Sprint("g", n), t0, typ, "cli-a", user))
		}
		guess(t, st, "a@example.com", "000000", t0, g, store.ErrCodeWrong)
		guess(t, st, "a@example.com", "000001", t0, g, store.ErrCodeWrong)
		guess(t, st, "a@example.com", "123456", t0, g, store.ErrBlocked)
		checkEvents(t, st, store.EventQuery{After: "0"}, "g1", "g2", "g2-limit_wc", "g3")
		if len(outcomes) != 3 || !errors.Is(outcomes[2], store.ErrBlocked) {
			t.Errorf("Log saw %v, want the three outcomes", outcomes)
		}
		// A guess a bucket refuses is not judged, and not logged.
		g = store.Guard{Takes: []store.Take{{Key: "ip", Limit: store.Limit{Burst: 1, Per: time.Hour}}}, Log: g.Log}
		guess(t, st, "b@example.com", "000000", t0, g, store.ErrCodeNotFound)
		guess(t, st, "b@example.com", "000000", t0, g, store.ErrRateLimited)
		if len(outcomes) != 4 {
			t.Errorf("Log was called %d times, want 4 (not for the refused take)", len(outcomes))
		}
		// A right guess: the success is logged with the code's login.
		createCode(t, st, newCode("c2", "email", "c@example.com", "654321", t0), nil)
		g.Takes = nil
		guess(t, st, "c@example.com", "654321", t0, g, nil)
		if e, err := st.Event(ctx(t), "g5"); err != nil || e.Type != "s" || e.UserID != "c2" {
			t.Errorf("the success's event = %+v, %v", e, err)
		}
	}},
}
