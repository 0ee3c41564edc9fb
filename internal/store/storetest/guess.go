package storetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// guard returns a Guard from ip with the given thresholds, windows of one
// day and pair blocks of one hour, making IDs g1, g2, ...
func guard(ip string, pair, account, perIP int) store.Guard {
	var n atomic.Int64
	return store.Guard{
		Protect: true, IP: ip, PairThreshold: pair, PairBlock: time.Hour,
		AccountThreshold: account, AccountWindow: failureWindow,
		IPThreshold: perIP, IPWindow: failureWindow,
		NewID: func() (string, error) { return fmt.Sprint(ip, "-g", n.Add(1)), nil },
	}
}

// guess calls GuessCode (consuming) and checks the outcome.
func guess(t *testing.T, st store.Store, identifier, value string, now time.Time, g store.Guard, want error) store.Guessed {
	t.Helper()
	res, err := st.GuessCode(ctx(t), "email", identifier, [][]byte{mac(value)}, now, true, g)
	if !errors.Is(err, want) || (want == nil && err != nil) {
		t.Fatalf("GuessCode(%s, %q) from %s at %v = %v, want %v", identifier, value, g.IP, now.Sub(t0), err, want)
	}
	return res
}

// manyTries is a code that outlives any number of wrong guesses, so that
// the tests count the guard's rules and not the code's tries.
func manyTries(id, identifier string, now time.Time) store.Code {
	c := newCode(id, "email", identifier, "123456", now)
	c.MaxTries = 1000
	c.ExpiresAt = now.Add(48 * time.Hour)
	return c
}

var guessTests = []test{
	{"AcceptRefusesWithoutConsumingOrCounting", func(t *testing.T, s *suite) {
		st := s.open(t)
		c := newCode("c1", "email", "a@example.com", "123456", t0)
		c.Send, c.AuthParams = "link", []byte(`{"redirect_uri":"https://app.example.com/cb"}`)
		createCode(t, st, c, nil)
		refused := errors.New("link altered")
		var seen store.Code
		g := guard("192.0.2.1", 1, 1, 1) // the first counted failure would block
		g.Accept = func(got store.Code) error { seen = got; return refused }
		guess(t, st, "a@example.com", "123456", t0, g, refused)
		if seen.ID != "c1" || seen.Send != "link" || string(seen.AuthParams) != string(c.AuthParams) {
			t.Errorf("Accept saw %+v, want the stored code c1 with its send and params", seen)
		}
		// Accept is not asked about a wrong value.
		seen = store.Code{}
		g.PairThreshold, g.AccountThreshold, g.IPThreshold = 0, 0, 0
		guess(t, st, "a@example.com", "000000", t0, g, store.ErrCodeWrong)
		if seen.ID != "" {
			t.Errorf("Accept was called for a wrong value")
		}
		// The refusal used no try and blocked nothing: with one try left
		// (MaxTries 3, one wrong guess) the right code still logs in.
		g.Accept = nil
		if res := guess(t, st, "a@example.com", "123456", t0, guard("192.0.2.1", 1, 1, 1), nil); res.Code.ID != "c1" {
			t.Errorf("GuessCode returned %q, want c1", res.Code.ID)
		}
	}},
	{"SuccessConsumesAndResetsThePair", func(t *testing.T, s *suite) {
		st := s.open(t)
		g := guard("192.0.2.1", 3, 0, 0)
		createCode(t, st, manyTries("c1", "a@example.com", t0), nil)
		guess(t, st, "a@example.com", "000000", t0, g, store.ErrCodeWrong)
		guess(t, st, "a@example.com", "000001", t0, g, store.ErrCodeWrong)
		res := guess(t, st, "a@example.com", "123456", t0, g, nil)
		if res.Code.ID != "c1" {
			t.Errorf("GuessCode returned code %q, want c1", res.Code.ID)
		}
		guess(t, st, "a@example.com", "123456", t0, g, store.ErrCodeStale)
		// The pair counts from zero again: two more failures do not block.
		createCode(t, st, manyTries("c2", "a@example.com", t0), nil)
		guess(t, st, "a@example.com", "000000", t0, g, store.ErrCodeWrong)
		if res := guess(t, st, "a@example.com", "000001", t0, g, store.ErrCodeWrong); len(res.NewBlocks) != 0 {
			t.Errorf("blocked after 2 failures since a success: %+v", res.NewBlocks)
		}
	}},
	{"PairBlockRefusesBeforeTheCodeIsLookedAt", func(t *testing.T, s *suite) {
		st := s.open(t)
		g := guard("192.0.2.1", 3, 0, 0)
		createCode(t, st, manyTries("c1", "a@example.com", t0), nil)
		guess(t, st, "a@example.com", "000000", t0, g, store.ErrCodeWrong)
		guess(t, st, "a@example.com", "000001", t0, g, store.ErrCodeWrong)
		res := guess(t, st, "a@example.com", "000002", t0, g, store.ErrCodeWrong)
		if len(res.NewBlocks) != 1 || res.NewBlocks[0].IP != "192.0.2.1" || res.NewBlocks[0].Identifier != "a@example.com" ||
			res.NewBlocks[0].Reason != "limit_wc" || !res.NewBlocks[0].ExpiresAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("third failure created %+v, want one pair block for an hour", res.NewBlocks)
		}
		// Even the right code is refused, and the refusal uses no try.
		res = guess(t, st, "a@example.com", "123456", t0.Add(time.Minute), g, store.ErrBlocked)
		if res.Block.Reason != "limit_wc" || res.Block.IP != "192.0.2.1" {
			t.Errorf("refused by %+v, want the pair block", res.Block)
		}
		// Another ip and another identifier are not blocked.
		guess(t, st, "a@example.com", "000003", t0, guard("192.0.2.2", 3, 0, 0), store.ErrCodeWrong)
		// When the block ends the pair starts afresh: it takes three
		// failures again.
		end := t0.Add(time.Hour)
		guess(t, st, "a@example.com", "000004", end, g, store.ErrCodeWrong)
		guess(t, st, "a@example.com", "000005", end, g, store.ErrCodeWrong)
		guess(t, st, "a@example.com", "123456", end, g, nil)
	}},
	{"AccountLockoutLastsUntilTheWindowMovesOn", func(t *testing.T, s *suite) {
		st := s.open(t)
		createCode(t, st, manyTries("c1", "a@example.com", t0), nil)
		// Four failures from four ips an hour apart.
		for i := range 4 {
			g := guard(fmt.Sprint("192.0.2.", i), 0, 4, 0)
			res := guess(t, st, "a@example.com", "000000", t0.Add(time.Duration(i)*time.Hour), g, store.ErrCodeWrong)
			if (len(res.NewBlocks) == 1) != (i == 3) {
				t.Fatalf("failure %d created %+v", i+1, res.NewBlocks)
			}
			if i == 3 {
				b := res.NewBlocks[0]
				// The window drops below 4 when the first failure leaves it.
				if b.IP != "" || b.Identifier != "a@example.com" || !b.ExpiresAt.Equal(t0.Add(failureWindow)) {
					t.Fatalf("lockout = %+v, want account-wide until the first failure is a day old", b)
				}
			}
		}
		fresh := guard("198.51.100.7", 0, 4, 0)
		guess(t, st, "a@example.com", "123456", t0.Add(5*time.Hour), fresh, store.ErrBlocked)
		guess(t, st, "a@example.com", "123456", t0.Add(failureWindow-time.Millisecond), fresh, store.ErrBlocked)
		// The window moved on: one more failure is let through and locks
		// again, until the second failure is a day old.
		res := guess(t, st, "a@example.com", "000000", t0.Add(failureWindow), fresh, store.ErrCodeWrong)
		if len(res.NewBlocks) != 1 || !res.NewBlocks[0].ExpiresAt.Equal(t0.Add(failureWindow+time.Hour)) {
			t.Fatalf("failure after the window moved created %+v", res.NewBlocks)
		}
		guess(t, st, "b@example.com", "000000", t0.Add(failureWindow), fresh, store.ErrCodeNotFound)
	}},
	{"SuspiciousIPIsBlockedOnEveryIdentifier", func(t *testing.T, s *suite) {
		st := s.open(t)
		g := guard("203.0.113.9", 0, 0, 3)
		for i, id := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			createCode(t, st, manyTries(fmt.Sprint("c", i), id, t0), nil)
			res := guess(t, st, id, "000000", t0, g, store.ErrCodeWrong)
			if (len(res.NewBlocks) == 1) != (i == 2) {
				t.Fatalf("failure %d created %+v", i+1, res.NewBlocks)
			}
			if i == 2 {
				b := res.NewBlocks[0]
				if b.IP != "203.0.113.9" || b.Identifier != "" || b.Connection != "" || b.Reason != "limit_mu" {
					t.Fatalf("ip block = %+v", b)
				}
			}
		}
		createCode(t, st, manyTries("d", "d@example.com", t0), nil)
		guess(t, st, "d@example.com", "123456", t0, g, store.ErrBlocked)
		guess(t, st, "d@example.com", "123456", t0, guard("203.0.113.10", 0, 0, 3), nil)
		checkBlocks(t, st, t0, "203.0.113.9-g1")
		if n, err := st.ClearBlocks(ctx(t), "203.0.113.9"); err != nil || n != 1 {
			t.Fatalf("ClearBlocks(ip) = %d, %v; want 1, nil", n, err)
		}
		guess(t, st, "a@example.com", "123456", t0, g, nil)
	}},
	{"OnlyWrongGuessesAtALiveCodeCount", func(t *testing.T, s *suite) {
		st := s.open(t)
		g := guard("192.0.2.1", 2, 2, 2)
		guess(t, st, "a@example.com", "000000", t0, g, store.ErrCodeNotFound)
		guess(t, st, "a@example.com", "000000", t0, g, store.ErrCodeNotFound)
		createCode(t, st, newCode("old", "email", "a@example.com", "111111", t0), nil)
		createCode(t, st, newCode("new", "email", "a@example.com", "222222", t0), nil)
		guess(t, st, "a@example.com", "111111", t0, g, store.ErrCodeStale)
		guess(t, st, "a@example.com", "111111", t0, g, store.ErrCodeStale)
		guess(t, st, "a@example.com", "222222", t0.Add(codeLifetime), g, store.ErrCodeExpired)
		guess(t, st, "a@example.com", "222222", t0.Add(codeLifetime), g, store.ErrCodeExpired)
		checkBlocks(t, st, t0)
	}},
	{"ConcurrentGuessesCannotOutrunTheLockout", func(t *testing.T, s *suite) {
		st := s.open(t)
		createCode(t, st, manyTries("c1", "a@example.com", t0), nil)
		errs := make([]error, workers*2)
		parallel(len(errs), func(i int) {
			g := guard(fmt.Sprint("192.0.2.", i), 0, 5, 0)
			_, errs[i] = st.GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac(fmt.Sprint("wrong-", i))}, t0, true, g)
		})
		var wrong, blocked int
		for i, err := range errs {
			switch {
			case errors.Is(err, store.ErrCodeWrong):
				wrong++
			case errors.Is(err, store.ErrBlocked):
				blocked++
			default:
				t.Errorf("guess %d = %v", i, err)
			}
		}
		if wrong != 5 || blocked != len(errs)-5 {
			t.Errorf("%d concurrent guesses: %d wrong, %d blocked; want exactly 5 let through", len(errs), wrong, blocked)
		}
	}},
	{"TakesComeFirstAndARefusalTouchesNothing", func(t *testing.T, s *suite) {
		st := s.open(t)
		g := guard("192.0.2.1", 1, 1, 1)
		g.Takes = []store.Take{{Key: "verify", Limit: store.Limit{Burst: 1, Per: time.Hour}}}
		createCode(t, st, newCode("c1", "email", "a@example.com", "123456", t0), nil)
		res, err := st.GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac("123456")}, t0, false, g)
		if err != nil || len(res.Buckets) != 1 || !res.Buckets[0].Allowed || res.Buckets[0].Remaining != 0 {
			t.Fatalf("GuessCode with a take = %+v, %v", res, err)
		}
		// The bucket is empty: a wrong guess is refused before it is
		// checked, so it uses no try and counts toward no block.
		res, err = st.GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac("000000")}, t0, true, g)
		if !errors.Is(err, store.ErrRateLimited) || len(res.Buckets) != 1 || res.Buckets[0].Allowed {
			t.Fatalf("GuessCode over the limit = %+v, %v; want ErrRateLimited", res, err)
		}
		checkBlocks(t, st, t0)
		g.Takes = nil
		guess(t, st, "a@example.com", "123456", t0, g, nil)
	}},
	{"UnprotectedGuessesAreNeitherBlockedNorCounted", func(t *testing.T, s *suite) {
		st := s.open(t)
		g := guard("192.0.2.1", 1, 1, 1)
		createCode(t, st, manyTries("c1", "a@example.com", t0), nil)
		guess(t, st, "a@example.com", "000000", t0, g, store.ErrCodeWrong) // blocks the pair and the account
		g.Protect = false
		for range 3 {
			if res := guess(t, st, "a@example.com", "000000", t0, g, store.ErrCodeWrong); len(res.NewBlocks) != 0 {
				t.Fatalf("an unprotected guess created %+v", res.NewBlocks)
			}
		}
		guess(t, st, "a@example.com", "123456", t0, g, nil)
		checkBlocks(t, st, t0, "192.0.2.1-g3", "192.0.2.1-g2", "192.0.2.1-g1")
	}},
	{"ACheckDoesNotConsume", func(t *testing.T, s *suite) {
		st := s.open(t)
		g := guard("192.0.2.1", 10, 30, 100)
		createCode(t, st, newCode("c1", "email", "a@example.com", "123456", t0), nil)
		for range 2 {
			if _, err := st.GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac("123456")}, t0, false, g); err != nil {
				t.Fatalf("GuessCode(check) = %v", err)
			}
		}
		guess(t, st, "a@example.com", "123456", t0, g, nil)
	}},
}
