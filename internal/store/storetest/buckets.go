package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// hourly is Auth0's /passwordless/start limit: 50 an hour, burst 50, so one
// token comes back every 72 seconds.
var hourly = store.Limit{Burst: 50, Per: time.Hour}

// refillOne is how long hourly takes to regain one token.
const refillOne = 72 * time.Second

// takeOne takes one token from one bucket: an empty bucket is a refusal
// (Allowed false), not an error.
func takeOne(st store.Store, key string, lim store.Limit, now time.Time) (store.Bucket, error) {
	bs, err := st.TakeTokens(context.Background(), []store.Take{{Key: key, Limit: lim}}, now)
	if errors.Is(err, store.ErrRateLimited) {
		err = nil
	}
	if err != nil {
		return store.Bucket{}, err
	}
	if len(bs) != 1 {
		return store.Bucket{}, fmt.Errorf("TakeTokens of one bucket returned %d", len(bs))
	}
	return bs[0], nil
}

func take(t *testing.T, st store.Store, key string, lim store.Limit, now time.Time) store.Bucket {
	t.Helper()
	b, err := takeOne(st, key, lim, now)
	if err != nil {
		t.Fatalf("TakeTokens(%s) at %v: %v", key, now.Sub(t0), err)
	}
	return b
}

// checkTake takes one token and checks the bucket it reports.
func checkTake(t *testing.T, st store.Store, key string, lim store.Limit, now time.Time, allowed bool, remaining int, reset time.Time) {
	t.Helper()
	b := take(t, st, key, lim, now)
	if b.Allowed != allowed || b.Remaining != remaining {
		t.Errorf("TakeTokens(%s) at %v = allowed %v, remaining %d; want %v, %d",
			key, now.Sub(t0), b.Allowed, b.Remaining, allowed, remaining)
	}
	checkTime(t, fmt.Sprintf("TakeTokens(%s) at %v: Reset", key, now.Sub(t0)), b.Reset, reset)
}

// drain takes every token of a full hourly bucket at now.
func drain(t *testing.T, st store.Store, key string, now time.Time) {
	t.Helper()
	for i := range hourly.Burst {
		if b := take(t, st, key, hourly, now); !b.Allowed {
			t.Fatalf("take %d of a full bucket of %d was refused", i+1, hourly.Burst)
		}
	}
}

var bucketTests = []test{
	{"BurstIsAllowedThenRefused", func(t *testing.T, s *suite) {
		st := s.open(t)
		for i := range hourly.Burst {
			// Each take leaves one more token to regain before it is full.
			checkTake(t, st, "k", hourly, t0, true, hourly.Burst-1-i, t0.Add(time.Duration(i+1)*refillOne))
		}
		checkTake(t, st, "k", hourly, t0, false, 0, t0.Add(hourly.Per))
		checkTake(t, st, "k", hourly, t0, false, 0, t0.Add(hourly.Per))
	}},
	{"OneTokenComesBackEveryPerOverBurst", func(t *testing.T, s *suite) {
		st := s.open(t)
		drain(t, st, "k", t0)
		checkTake(t, st, "k", hourly, t0.Add(refillOne-time.Millisecond), false, 0, t0.Add(hourly.Per))
		later := t0.Add(refillOne)
		checkTake(t, st, "k", hourly, later, true, 0, later.Add(hourly.Per))
		checkTake(t, st, "k", hourly, later, false, 0, later.Add(hourly.Per))
	}},
	{"FullAgainAfterPerAndNeverFuller", func(t *testing.T, s *suite) {
		st := s.open(t)
		drain(t, st, "k", t0)
		full := t0.Add(hourly.Per)
		checkTake(t, st, "k", hourly, full, true, hourly.Burst-1, full.Add(refillOne))
		// A long quiet spell fills the bucket only to Burst.
		drain(t, st, "other", t0)
		much := t0.Add(100 * hourly.Per)
		checkTake(t, st, "other", hourly, much, true, hourly.Burst-1, much.Add(refillOne))
	}},
	{"ResetCountsFractionalTokens", func(t *testing.T, s *suite) {
		st := s.open(t)
		for range 10 {
			take(t, st, "k", hourly, t0)
		}
		// Half a token later: 40.5 tokens, one taken leaves 39.5, and 10.5
		// tokens are missing.
		now := t0.Add(refillOne / 2)
		checkTake(t, st, "k", hourly, now, true, 39, now.Add(21*refillOne/2))
	}},
	{"KeysAreIndependent", func(t *testing.T, s *suite) {
		st := s.open(t)
		drain(t, st, "a", t0)
		checkTake(t, st, "a", hourly, t0, false, 0, t0.Add(hourly.Per))
		checkTake(t, st, "b", hourly, t0, true, hourly.Burst-1, t0.Add(refillOne))
	}},
	{"ClockGoingBackwardsRefillsNothing", func(t *testing.T, s *suite) {
		st := s.open(t)
		now := t0.Add(time.Hour)
		drain(t, st, "k", now)
		// An earlier time (a replica whose clock is behind) neither refills
		// nor makes the interval count twice when the clock catches up.
		checkTake(t, st, "k", hourly, t0, false, 0, now.Add(hourly.Per))
		checkTake(t, st, "k", hourly, now.Add(refillOne-time.Millisecond), false, 0, now.Add(hourly.Per))
		checkTake(t, st, "k", hourly, now.Add(refillOne), true, 0, now.Add(refillOne+hourly.Per))
	}},
	{"InvalidLimitIsAnError", func(t *testing.T, s *suite) {
		st := s.open(t)
		for _, lim := range []store.Limit{{Burst: 0, Per: time.Hour}, {Burst: -1, Per: time.Hour}, {Burst: 5, Per: 0}, {Burst: 5, Per: -time.Second}} {
			if b, err := takeOne(st, "k", lim, t0); err == nil {
				t.Errorf("TakeTokens with %+v = %+v, want an error", lim, b)
			}
		}
	}},
	{"ConcurrentTakesNeverExceedBurst", func(t *testing.T, s *suite) {
		st := s.open(t)
		const each = 10
		allowed := make([]int, workers)
		errs := make([]error, workers)
		parallel(workers, func(w int) {
			for range each {
				b, err := takeOne(st, "k", hourly, t0)
				if err != nil {
					errs[w] = err
					return
				}
				if b.Allowed {
					allowed[w]++
				}
			}
		})
		total := 0
		for w := range workers {
			if errs[w] != nil {
				t.Errorf("taker %d: %v", w, errs[w])
			}
			total += allowed[w]
		}
		if total != hourly.Burst {
			t.Errorf("%d goroutines taking %d tokens each at one instant got %d, want exactly Burst (%d)",
				workers, each, total, hourly.Burst)
		}
	}},
}
