package storetest

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// failureWindow is the default account-wide window.
const failureWindow = 24 * time.Hour

// fail records a failure and checks the pair and account counts.
func fail(t *testing.T, st store.Store, connection, identifier, ip string, now time.Time, window time.Duration, pair, account int) {
	t.Helper()
	p, a, err := st.RecordFailure(ctx(t), connection, identifier, ip, now, window)
	if err != nil {
		t.Fatalf("RecordFailure(%s, %s, %s) at %v: %v", connection, identifier, ip, now.Sub(t0), err)
	}
	if p != pair || a != account {
		t.Errorf("RecordFailure(%s, %s, %s) at %v = pair %d, account %d; want %d, %d",
			connection, identifier, ip, now.Sub(t0), p, a, pair, account)
	}
}

func resetFailures(t *testing.T, st store.Store, connection, identifier, ip string) {
	t.Helper()
	if err := st.ResetFailures(ctx(t), connection, identifier, ip); err != nil {
		t.Fatalf("ResetFailures(%s, %s, %s): %v", connection, identifier, ip, err)
	}
}

const blockLifetime = time.Hour

// newBlock returns a block of identifier on the email connection from ip
// ("" for account-wide), created at now for blockLifetime.
func newBlock(id, identifier, ip string, now time.Time) store.Block {
	return store.Block{
		ID:         id,
		Connection: "email",
		Identifier: identifier,
		IP:         ip,
		Reason:     "limit_wc",
		CreatedAt:  now,
		ExpiresAt:  now.Add(blockLifetime),
	}
}

func createBlock(t *testing.T, st store.Store, b store.Block) {
	t.Helper()
	if err := st.CreateBlock(ctx(t), b); err != nil {
		t.Fatalf("CreateBlock(%s): %v", b.ID, err)
	}
}

// activeBlock calls ActiveBlock and checks which block it returns ("" for
// ErrNotFound).
func activeBlock(t *testing.T, st store.Store, connection, identifier, ip string, now time.Time, wantID string) store.Block {
	t.Helper()
	b, err := st.ActiveBlock(ctx(t), connection, identifier, ip, now)
	switch {
	case wantID == "" && !errors.Is(err, store.ErrNotFound):
		t.Errorf("ActiveBlock(%s, %s, %q) at %v = %+v, %v; want ErrNotFound", connection, identifier, ip, now.Sub(t0), b, err)
	case wantID != "" && err != nil:
		t.Errorf("ActiveBlock(%s, %s, %q) at %v: %v; want block %s", connection, identifier, ip, now.Sub(t0), err, wantID)
	case wantID != "" && b.ID != wantID:
		t.Errorf("ActiveBlock(%s, %s, %q) at %v = block %s, want %s", connection, identifier, ip, now.Sub(t0), b.ID, wantID)
	}
	return b
}

// checkBlocks checks the IDs Blocks lists at now, in order.
func checkBlocks(t *testing.T, st store.Store, now time.Time, want ...string) []store.Block {
	t.Helper()
	blocks, err := st.Blocks(ctx(t), now)
	if err != nil {
		t.Fatalf("Blocks at %v: %v", now.Sub(t0), err)
	}
	var got []string
	for _, b := range blocks {
		got = append(got, b.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Blocks at %v = %q, want %q", now.Sub(t0), got, want)
	}
	return blocks
}

var failureTests = []test{
	{"CountsPairAndAccount", func(t *testing.T, s *suite) {
		st := s.open(t)
		fail(t, st, "email", "a@example.com", "192.0.2.1", t0, failureWindow, 1, 1)
		fail(t, st, "email", "a@example.com", "192.0.2.1", t0.Add(time.Second), failureWindow, 2, 2)
		fail(t, st, "email", "a@example.com", "192.0.2.1", t0.Add(2*time.Second), failureWindow, 3, 3)
		fail(t, st, "email", "a@example.com", "192.0.2.2", t0.Add(3*time.Second), failureWindow, 1, 4)
	}},
	{"AccountCountsOnlyTheWindow", func(t *testing.T, s *suite) {
		st := s.open(t)
		fail(t, st, "email", "a@example.com", "192.0.2.1", t0, failureWindow, 1, 1)
		fail(t, st, "email", "a@example.com", "192.0.2.2", t0.Add(time.Hour), failureWindow, 1, 2)
		// A failure exactly one window old has left it; the pair count,
		// consecutive failures, does not age.
		fail(t, st, "email", "a@example.com", "192.0.2.1", t0.Add(failureWindow), failureWindow, 2, 2)
		fail(t, st, "email", "a@example.com", "192.0.2.1", t0.Add(failureWindow+time.Hour), failureWindow, 3, 2)
		// The window is the caller's: a wider one sees them all.
		fail(t, st, "email", "a@example.com", "192.0.2.1", t0.Add(failureWindow+time.Hour), 7*failureWindow, 4, 5)
	}},
	{"ResetClearsOnlyThatPairsConsecutiveCount", func(t *testing.T, s *suite) {
		st := s.open(t)
		for i := range 3 {
			fail(t, st, "email", "a@example.com", "192.0.2.1", t0, failureWindow, i+1, i+1)
		}
		fail(t, st, "email", "a@example.com", "192.0.2.2", t0, failureWindow, 1, 4)
		fail(t, st, "email", "a@example.com", "192.0.2.2", t0, failureWindow, 2, 5)
		resetFailures(t, st, "email", "a@example.com", "192.0.2.1")
		// The account-wide count is not reset by a success from one ip.
		fail(t, st, "email", "a@example.com", "192.0.2.1", t0, failureWindow, 1, 6)
		fail(t, st, "email", "a@example.com", "192.0.2.2", t0, failureWindow, 3, 7)
	}},
	{"ResetOfAnUnknownPairIsNoError", func(t *testing.T, s *suite) {
		st := s.open(t)
		resetFailures(t, st, "email", "nobody@example.com", "192.0.2.1")
	}},
	{"IdentifiersAndConnectionsAreIndependent", func(t *testing.T, s *suite) {
		st := s.open(t)
		fail(t, st, "email", "a@example.com", "192.0.2.1", t0, failureWindow, 1, 1)
		fail(t, st, "email", "a@example.com", "192.0.2.1", t0, failureWindow, 2, 2)
		fail(t, st, "other-email", "a@example.com", "192.0.2.1", t0, failureWindow, 1, 1)
		fail(t, st, "email", "b@example.com", "192.0.2.1", t0, failureWindow, 1, 1)
		resetFailures(t, st, "other-email", "a@example.com", "192.0.2.1")
		fail(t, st, "email", "a@example.com", "192.0.2.1", t0, failureWindow, 3, 3)
	}},
	{"ConcurrentFailuresAreAllCounted", func(t *testing.T, s *suite) {
		st := s.open(t)
		pairs := make([]int, workers)
		accounts := make([]int, workers)
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			pairs[i], accounts[i], errs[i] = st.RecordFailure(ctx(t), "email", "a@example.com", "192.0.2.1", t0, failureWindow)
		})
		checkCountedOnce(t, pairs, accounts, errs)
		fail(t, st, "email", "a@example.com", "192.0.2.1", t0, failureWindow, workers+1, workers+1)
	}},
}

// checkCountedOnce checks that concurrent RecordFailure calls on one pair
// each saw a different count: 1, 2, ... n in some order.
func checkCountedOnce(t *testing.T, pairs, accounts []int, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("RecordFailure %d: %v", i, err)
		}
	}
	want := make([]int, len(pairs))
	for i := range want {
		want[i] = i + 1
	}
	for _, c := range []struct {
		name string
		got  []int
	}{{"pair", pairs}, {"account", accounts}} {
		got := slices.Sorted(slices.Values(c.got))
		if !slices.Equal(got, want) {
			t.Errorf("%d concurrent failures returned %s counts %v, want each of 1..%d once", len(pairs), c.name, got, len(pairs))
		}
	}
}

var blockTests = []test{
	{"PairBlockStopsOnlyThatIP", func(t *testing.T, s *suite) {
		st := s.open(t)
		b := newBlock("b1", "a@example.com", "192.0.2.1", t0)
		createBlock(t, st, b)
		if got := activeBlock(t, st, "email", "a@example.com", "192.0.2.1", t0, "b1"); !reflect.DeepEqual(got, b) {
			t.Errorf("ActiveBlock =\n%+v\nwant\n%+v", got, b)
		}
		activeBlock(t, st, "email", "a@example.com", "192.0.2.2", t0, "")
		activeBlock(t, st, "email", "a@example.com", "", t0, "")
		activeBlock(t, st, "email", "b@example.com", "192.0.2.1", t0, "")
		activeBlock(t, st, "sms", "a@example.com", "192.0.2.1", t0, "")
	}},
	{"AccountBlockStopsEveryIPAndComesFirst", func(t *testing.T, s *suite) {
		st := s.open(t)
		pair := newBlock("pair", "a@example.com", "192.0.2.1", t0)
		pair.ExpiresAt = t0.Add(48 * time.Hour) // outlasts the account block
		createBlock(t, st, pair)
		createBlock(t, st, newBlock("account", "a@example.com", "", t0))
		for _, ip := range []string{"192.0.2.1", "192.0.2.2", ""} {
			activeBlock(t, st, "email", "a@example.com", ip, t0, "account")
		}
		activeBlock(t, st, "sms", "a@example.com", "192.0.2.2", t0, "")
		// When the account block ends the pair block still holds.
		end := t0.Add(blockLifetime)
		activeBlock(t, st, "email", "a@example.com", "192.0.2.1", end, "pair")
		activeBlock(t, st, "email", "a@example.com", "192.0.2.2", end, "")
	}},
	{"BlocksEndAtExpiresAt", func(t *testing.T, s *suite) {
		st := s.open(t)
		b := newBlock("b1", "a@example.com", "192.0.2.1", t0)
		createBlock(t, st, b)
		activeBlock(t, st, "email", "a@example.com", "192.0.2.1", b.ExpiresAt.Add(-time.Millisecond), "b1")
		activeBlock(t, st, "email", "a@example.com", "192.0.2.1", b.ExpiresAt, "")
		checkBlocks(t, st, b.ExpiresAt.Add(-time.Millisecond), "b1")
		checkBlocks(t, st, b.ExpiresAt)
	}},
	{"ListIsNewestFirstAndInForceOnly", func(t *testing.T, s *suite) {
		st := s.open(t)
		createBlock(t, st, newBlock("old", "a@example.com", "192.0.2.1", t0))
		ended := newBlock("ended", "b@example.com", "", t0.Add(time.Minute))
		ended.ExpiresAt = t0.Add(2 * time.Minute)
		createBlock(t, st, ended)
		createBlock(t, st, newBlock("new", "c@example.com", "", t0.Add(3*time.Minute)))
		createBlock(t, st, newBlock("same-ms", "d@example.com", "", t0.Add(3*time.Minute)))
		createBlock(t, st, newBlock("earlier", "e@example.com", "", t0.Add(-time.Minute)))
		now := t0.Add(5 * time.Minute)
		got := checkBlocks(t, st, now, "same-ms", "new", "old", "earlier")
		if len(got) > 0 {
			want := newBlock("same-ms", "d@example.com", "", t0.Add(3*time.Minute))
			if !reflect.DeepEqual(got[0], want) {
				t.Errorf("Blocks()[0] =\n%+v\nwant\n%+v", got[0], want)
			}
		}
	}},
	{"NoBlocksIsAnEmptyList", func(t *testing.T, s *suite) {
		st := s.open(t)
		checkBlocks(t, st, t0)
	}},
	{"DuplicateIDIsRefused", func(t *testing.T, s *suite) {
		st := s.open(t)
		createBlock(t, st, newBlock("b1", "a@example.com", "192.0.2.1", t0))
		if err := st.CreateBlock(ctx(t), newBlock("b1", "b@example.com", "", t0)); !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("CreateBlock with a known ID = %v, want ErrAlreadyExists", err)
		}
	}},
	{"ClearRemovesTheIdentifiersBlocksAndCounters", func(t *testing.T, s *suite) {
		st := s.open(t)
		createBlock(t, st, newBlock("pair", "a@example.com", "192.0.2.1", t0))
		createBlock(t, st, newBlock("account", "a@example.com", "", t0))
		onSMS := newBlock("sms", "a@example.com", "192.0.2.1", t0)
		onSMS.Connection = "sms"
		createBlock(t, st, onSMS)
		createBlock(t, st, newBlock("other", "b@example.com", "192.0.2.1", t0))
		fail(t, st, "email", "a@example.com", "192.0.2.1", t0, failureWindow, 1, 1)
		fail(t, st, "email", "a@example.com", "192.0.2.2", t0, failureWindow, 1, 2)
		fail(t, st, "sms", "a@example.com", "192.0.2.1", t0, failureWindow, 1, 1)
		fail(t, st, "email", "b@example.com", "192.0.2.1", t0, failureWindow, 1, 1)

		n, err := st.ClearBlocks(ctx(t), "a@example.com")
		if err != nil || n != 3 {
			t.Fatalf("ClearBlocks = %d, %v; want 3, nil", n, err)
		}
		activeBlock(t, st, "email", "a@example.com", "192.0.2.1", t0, "")
		activeBlock(t, st, "sms", "a@example.com", "192.0.2.1", t0, "")
		activeBlock(t, st, "email", "b@example.com", "192.0.2.1", t0, "other")
		// The identifier starts afresh, pair and account; others keep theirs.
		fail(t, st, "email", "a@example.com", "192.0.2.1", t0, failureWindow, 1, 1)
		fail(t, st, "sms", "a@example.com", "192.0.2.1", t0, failureWindow, 1, 1)
		fail(t, st, "email", "b@example.com", "192.0.2.1", t0, failureWindow, 2, 2)

		if n, err := st.ClearBlocks(ctx(t), "a@example.com"); err != nil || n != 0 {
			t.Errorf("ClearBlocks again = %d, %v; want 0, nil", n, err)
		}
		if n, err := st.ClearBlocks(ctx(t), "nobody@example.com"); err != nil || n != 0 {
			t.Errorf("ClearBlocks(unknown) = %d, %v; want 0, nil", n, err)
		}
	}},
}
