package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// The backend's part of brute-force protection, seen through GuessCode:
// that it counts wrong guesses per pair, per identifier and per address
// within the windows, clears what a success clears, and finds and lists
// the blocks it made. Which count blocks what is store.Guard's rule, tested
// on its own in package store.

// failureWindow is the default account-wide window.
const failureWindow = 24 * time.Hour

// blockLifetime is how long the suite's pair blocks last.
const blockLifetime = time.Hour

var liveCodes atomic.Int64

// liveCode gives identifier on connection a fresh live code, "123456",
// that outlives any number of wrong guesses.
func liveCode(t *testing.T, st store.Store, connection, identifier string, now time.Time) {
	t.Helper()
	c := newCode(fmt.Sprint("live-", liveCodes.Add(1)), connection, identifier, "123456", now)
	c.MaxTries = 1000
	c.ExpiresAt = now.Add(400 * 24 * time.Hour)
	createCode(t, st, c, nil)
}

var wrongValues atomic.Int64

// wrongGuess makes one wrong guess under g, which must be counted, and
// returns the IDs of the blocks it created.
func wrongGuess(t *testing.T, st store.Store, connection, identifier string, now time.Time, g store.Guard) []string {
	t.Helper()
	res, err := st.GuessCode(ctx(t), connection, identifier, [][]byte{mac(fmt.Sprint("wrong-", wrongValues.Add(1)))}, now, true, g)
	if !errors.Is(err, store.ErrCodeWrong) {
		t.Fatalf("wrong guess at %s %s from %s at %v = %v, want ErrCodeWrong", connection, identifier, g.IP, now.Sub(t0), err)
	}
	var ids []string
	for _, b := range res.NewBlocks {
		ids = append(ids, b.ID)
	}
	return ids
}

// named is guard with IDs of the form name-1, name-2, ...
func named(name string, g store.Guard) store.Guard {
	var n atomic.Int64
	g.NewID = func() (string, error) { return fmt.Sprint(name, "-", n.Add(1)), nil }
	return g
}

// refusedBy returns the ID of the block that stops a right guess at
// identifier from ip at now ("" when none does). The guess checks without
// consuming; when it goes through it clears the pair's consecutive count,
// as any success does.
func refusedBy(t *testing.T, st store.Store, connection, identifier, ip string, now time.Time) string {
	t.Helper()
	res, err := st.GuessCode(ctx(t), connection, identifier, [][]byte{mac("123456")}, now, false, store.Guard{Protect: true, IP: ip})
	switch {
	case errors.Is(err, store.ErrBlocked):
		return res.Block.ID
	case err != nil:
		t.Fatalf("right guess at %s %s from %s at %v = %v", connection, identifier, ip, now.Sub(t0), err)
	}
	return ""
}

func wantRefusedBy(t *testing.T, st store.Store, connection, identifier, ip string, now time.Time, want string) {
	t.Helper()
	if got := refusedBy(t, st, connection, identifier, ip, now); got != want {
		t.Errorf("a right guess at %s %s from %q at %v is refused by %q, want %q", connection, identifier, ip, now.Sub(t0), got, want)
	}
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

// pairGuard counts pairs only, blocking at threshold.
func pairGuard(name, ip string, threshold int) store.Guard {
	return named(name, store.Guard{Protect: true, IP: ip, PairThreshold: threshold, PairBlock: blockLifetime})
}

// accountGuard counts the identifier's failures only.
func accountGuard(name, ip string, threshold int, window time.Duration) store.Guard {
	return named(name, store.Guard{Protect: true, IP: ip, AccountThreshold: threshold, AccountWindow: window})
}

var failureTests = []test{
	{"PairCountsConsecutiveFailuresFromOneIP", func(t *testing.T, s *suite) {
		st := s.open(t)
		liveCode(t, st, "email", "a@example.com", t0)
		g1, g2 := pairGuard("p1", "192.0.2.1", 3), pairGuard("p2", "192.0.2.2", 3)
		for i := range 2 {
			if ids := wrongGuess(t, st, "email", "a@example.com", t0.Add(time.Duration(i)*time.Second), g1); len(ids) != 0 {
				t.Fatalf("failure %d blocked: %v", i+1, ids)
			}
		}
		if ids := wrongGuess(t, st, "email", "a@example.com", t0, g2); len(ids) != 0 {
			t.Fatalf("another ip's first failure blocked: %v", ids)
		}
		if ids := wrongGuess(t, st, "email", "a@example.com", t0.Add(time.Hour), g1); !slices.Equal(ids, []string{"p1-1"}) {
			t.Fatalf("the third failure from one ip created %v, want its pair block", ids)
		}
		// The pair count does not age: consecutive failures are counted
		// however far apart.
		wantRefusedBy(t, st, "email", "a@example.com", "192.0.2.1", t0.Add(time.Hour), "p1-1")
		wantRefusedBy(t, st, "email", "a@example.com", "192.0.2.2", t0.Add(time.Hour), "")
	}},
	{"AccountCountsOnlyTheWindow", func(t *testing.T, s *suite) {
		st := s.open(t)
		liveCode(t, st, "email", "a@example.com", t0)
		g := func(ip string) store.Guard { return accountGuard("acct", ip, 2, failureWindow) }
		wrongGuess(t, st, "email", "a@example.com", t0, g("192.0.2.1"))
		// A failure exactly one window old has left it.
		if ids := wrongGuess(t, st, "email", "a@example.com", t0.Add(failureWindow), g("192.0.2.2")); len(ids) != 0 {
			t.Fatalf("a failure outside the window counted: %v", ids)
		}
		res, err := st.GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac("wrong-x")}, t0.Add(failureWindow+time.Hour), true, g("192.0.2.3"))
		if !errors.Is(err, store.ErrCodeWrong) || len(res.NewBlocks) != 1 {
			t.Fatalf("two failures within the window: %+v, %v; want one account block", res.NewBlocks, err)
		}
		// Locked until the older of the two leaves the window.
		if b := res.NewBlocks[0]; b.IP != "" || b.Identifier != "a@example.com" || !b.ExpiresAt.Equal(t0.Add(2*failureWindow)) {
			t.Errorf("account block = %+v, want one until %v", b, t0.Add(2*failureWindow))
		}
	}},
	{"SuccessClearsOnlyThatPairsConsecutiveCount", func(t *testing.T, s *suite) {
		st := s.open(t)
		liveCode(t, st, "email", "a@example.com", t0)
		guard := func(ip string) store.Guard {
			g := pairGuard("g"+ip, ip, 3)
			g.AccountThreshold, g.AccountWindow = 6, failureWindow
			return g
		}
		for range 2 {
			wrongGuess(t, st, "email", "a@example.com", t0, guard("192.0.2.1"))
			wrongGuess(t, st, "email", "a@example.com", t0, guard("192.0.2.2"))
		}
		wantRefusedBy(t, st, "email", "a@example.com", "192.0.2.1", t0, "") // a success from .1
		if ids := wrongGuess(t, st, "email", "a@example.com", t0, guard("192.0.2.1")); len(ids) != 0 {
			t.Fatalf(".1 counted from zero after its success, yet blocked: %v", ids)
		}
		// .2 was not cleared, and the account-wide count never is: the
		// sixth failure makes both blocks.
		ids := wrongGuess(t, st, "email", "a@example.com", t0, guard("192.0.2.2"))
		if len(ids) != 2 {
			t.Fatalf("the third failure of .2, the sixth of the account, created %v; want a pair and an account block", ids)
		}
	}},
	{"IdentifiersAndConnectionsAreIndependent", func(t *testing.T, s *suite) {
		st := s.open(t)
		for _, c := range []struct{ conn, id string }{{"email", "a@example.com"}, {"other-email", "a@example.com"}, {"email", "b@example.com"}} {
			liveCode(t, st, c.conn, c.id, t0)
		}
		g := func() store.Guard {
			g := pairGuard("x", "192.0.2.1", 2)
			g.AccountThreshold, g.AccountWindow = 2, failureWindow
			return g
		}
		wrongGuess(t, st, "email", "a@example.com", t0, g())
		if ids := wrongGuess(t, st, "other-email", "a@example.com", t0, g()); len(ids) != 0 {
			t.Fatalf("another connection's failure counted: %v", ids)
		}
		if ids := wrongGuess(t, st, "email", "b@example.com", t0, g()); len(ids) != 0 {
			t.Fatalf("another identifier's failure counted: %v", ids)
		}
		if ids := wrongGuess(t, st, "email", "a@example.com", t0, g()); len(ids) != 2 {
			t.Fatalf("the second failure of the pair created %v, want two blocks", ids)
		}
	}},
	{"ConcurrentFailuresAreAllCounted", func(t *testing.T, s *suite) {
		st := s.open(t)
		liveCode(t, st, "email", "a@example.com", t0)
		g := pairGuard("c", "192.0.2.1", workers)
		created := make([]int, workers)
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			var res store.Guessed
			res, errs[i] = st.GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac(fmt.Sprint("wrong-c", i))}, t0, true, g)
			created[i] = len(res.NewBlocks)
		})
		blocks := 0
		for i, err := range errs {
			if !errors.Is(err, store.ErrCodeWrong) {
				t.Fatalf("guess %d = %v", i, err)
			}
			blocks += created[i]
		}
		if blocks != 1 {
			t.Errorf("%d concurrent failures created %d pair blocks, want exactly 1 (each counted once)", workers, blocks)
		}
	}},
}

var blockTests = []test{
	{"PairBlockStopsOnlyThatIP", func(t *testing.T, s *suite) {
		st := s.open(t)
		liveCode(t, st, "email", "a@example.com", t0)
		liveCode(t, st, "email", "b@example.com", t0)
		liveCode(t, st, "sms", "a@example.com", t0)
		wrongGuess(t, st, "email", "a@example.com", t0, pairGuard("b", "192.0.2.1", 1))
		wantRefusedBy(t, st, "email", "a@example.com", "192.0.2.1", t0, "b-1")
		wantRefusedBy(t, st, "email", "a@example.com", "192.0.2.2", t0, "")
		wantRefusedBy(t, st, "email", "b@example.com", "192.0.2.1", t0, "")
		wantRefusedBy(t, st, "sms", "a@example.com", "192.0.2.1", t0, "")
		got := checkBlocks(t, st, t0, "b-1")
		want := store.Block{ID: "b-1", Connection: "email", Identifier: "a@example.com", IP: "192.0.2.1",
			Reason: "limit_wc", CreatedAt: t0, ExpiresAt: t0.Add(blockLifetime)}
		if len(got) == 1 && got[0] != want {
			t.Errorf("Blocks()[0] =\n%+v\nwant\n%+v", got[0], want)
		}
	}},
	{"AccountBlockStopsEveryIPAndComesFirst", func(t *testing.T, s *suite) {
		st := s.open(t)
		liveCode(t, st, "email", "a@example.com", t0)
		liveCode(t, st, "sms", "a@example.com", t0)
		long := pairGuard("pair", "192.0.2.1", 1)
		long.PairBlock = 48 * time.Hour // outlasts the account block
		wrongGuess(t, st, "email", "a@example.com", t0, long)
		wrongGuess(t, st, "email", "a@example.com", t0, accountGuard("account", "192.0.2.2", 2, blockLifetime))
		for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
			wantRefusedBy(t, st, "email", "a@example.com", ip, t0, "account-1")
		}
		wantRefusedBy(t, st, "sms", "a@example.com", "192.0.2.2", t0, "")
		// When the account block ends the pair block still holds.
		end := t0.Add(blockLifetime)
		wantRefusedBy(t, st, "email", "a@example.com", "192.0.2.1", end, "pair-1")
		wantRefusedBy(t, st, "email", "a@example.com", "192.0.2.2", end, "")
	}},
	{"IPBlockStopsEveryIdentifierAndComesBeforeThePair", func(t *testing.T, s *suite) {
		st := s.open(t)
		liveCode(t, st, "email", "a@example.com", t0)
		liveCode(t, st, "email", "b@example.com", t0)
		g := named("ip", store.Guard{Protect: true, IP: "203.0.113.9", PairThreshold: 2, PairBlock: 48 * time.Hour,
			IPThreshold: 2, IPWindow: blockLifetime})
		wrongGuess(t, st, "email", "a@example.com", t0, g)
		ids := wrongGuess(t, st, "email", "a@example.com", t0, g)
		if len(ids) != 2 {
			t.Fatalf("created %v, want a pair and an ip block", ids)
		}
		wantRefusedBy(t, st, "email", "a@example.com", "203.0.113.9", t0, "ip-2")
		wantRefusedBy(t, st, "email", "b@example.com", "203.0.113.9", t0, "ip-2")
		wantRefusedBy(t, st, "email", "b@example.com", "203.0.113.10", t0, "")
		wantRefusedBy(t, st, "email", "a@example.com", "203.0.113.9", t0.Add(blockLifetime), "ip-1")
	}},
	{"BlocksEndAtExpiresAt", func(t *testing.T, s *suite) {
		st := s.open(t)
		liveCode(t, st, "email", "a@example.com", t0)
		wrongGuess(t, st, "email", "a@example.com", t0, pairGuard("b", "192.0.2.1", 1))
		end := t0.Add(blockLifetime)
		wantRefusedBy(t, st, "email", "a@example.com", "192.0.2.1", end.Add(-time.Millisecond), "b-1")
		wantRefusedBy(t, st, "email", "a@example.com", "192.0.2.1", end, "")
		checkBlocks(t, st, end.Add(-time.Millisecond), "b-1")
		checkBlocks(t, st, end)
	}},
	{"ListIsNewestFirstAndInForceOnly", func(t *testing.T, s *suite) {
		st := s.open(t)
		block := func(name, identifier string, at time.Time, lifetime time.Duration) {
			liveCode(t, st, "email", identifier, at)
			g := pairGuard(name, "192.0.2.1", 1)
			g.PairBlock = lifetime
			wrongGuess(t, st, "email", identifier, at, g)
		}
		block("old", "a@example.com", t0, time.Hour)
		block("ended", "b@example.com", t0.Add(time.Minute), time.Minute)
		block("new", "c@example.com", t0.Add(3*time.Minute), time.Hour)
		block("same-ms", "d@example.com", t0.Add(3*time.Minute), time.Hour)
		block("earlier", "e@example.com", t0.Add(-time.Minute), time.Hour)
		checkBlocks(t, st, t0.Add(5*time.Minute), "same-ms-1", "new-1", "old-1", "earlier-1")
	}},
	{"NoBlocksIsAnEmptyList", func(t *testing.T, s *suite) {
		st := s.open(t)
		checkBlocks(t, st, t0)
	}},
	{"ClearRemovesTheIdentifiersBlocksAndCounters", func(t *testing.T, s *suite) {
		st := s.open(t)
		for _, c := range []struct{ conn, id string }{{"email", "a@example.com"}, {"sms", "a@example.com"}, {"email", "b@example.com"}} {
			liveCode(t, st, c.conn, c.id, t0)
		}
		both := func(name, ip string) store.Guard {
			g := pairGuard(name, ip, 2)
			g.AccountThreshold, g.AccountWindow = 3, failureWindow
			return g
		}
		wrongGuess(t, st, "email", "a@example.com", t0, both("a1", "192.0.2.1"))
		wrongGuess(t, st, "email", "a@example.com", t0, both("a2", "192.0.2.2"))
		if ids := wrongGuess(t, st, "email", "a@example.com", t0, both("a1", "192.0.2.1")); len(ids) != 2 {
			t.Fatalf("created %v, want a pair and an account block", ids)
		}
		wrongGuess(t, st, "sms", "a@example.com", t0, pairGuard("sms", "192.0.2.1", 1))
		wrongGuess(t, st, "email", "b@example.com", t0, pairGuard("b", "192.0.2.1", 2))

		n, err := st.ClearBlocks(ctx(t), "a@example.com")
		if err != nil || n != 3 {
			t.Fatalf("ClearBlocks = %d, %v; want 3, nil", n, err)
		}
		wantRefusedBy(t, st, "email", "a@example.com", "192.0.2.1", t0, "")
		wantRefusedBy(t, st, "sms", "a@example.com", "192.0.2.1", t0, "")
		// The identifier starts afresh, pair and account; others keep
		// theirs: b's second failure blocks.
		if ids := wrongGuess(t, st, "email", "a@example.com", t0, both("a3", "192.0.2.2")); len(ids) != 0 {
			t.Fatalf("a's counters survived ClearBlocks: %v", ids)
		}
		if ids := wrongGuess(t, st, "email", "b@example.com", t0, pairGuard("b", "192.0.2.1", 2)); len(ids) != 1 {
			t.Fatalf("b's counter was cleared too: %v", ids)
		}
		if n, err := st.ClearBlocks(ctx(t), "nobody@example.com"); err != nil || n != 0 {
			t.Errorf("ClearBlocks(unknown) = %d, %v; want 0, nil", n, err)
		}
	}},
}
