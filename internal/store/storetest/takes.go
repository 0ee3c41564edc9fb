package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

var takesTests = []test{
	{"AllOrNothing", func(t *testing.T, s *suite) {
		st := s.open(t)
		small := store.Limit{Burst: 2, Per: time.Hour}
		takes := []store.Take{{Key: "ip", Limit: hourly}, {Key: "rcpt", Limit: small}}
		for i := range 2 {
			bs, err := st.TakeTokens(ctx(t), takes, t0)
			if err != nil || len(bs) != 2 || !bs[0].Allowed || !bs[1].Allowed || bs[0].Remaining != 49-i || bs[1].Remaining != 1-i {
				t.Fatalf("TakeTokens %d = %+v, %v", i+1, bs, err)
			}
		}
		bs, err := st.TakeTokens(ctx(t), takes, t0)
		if !errors.Is(err, store.ErrRateLimited) || len(bs) != 2 || !bs[0].Allowed || bs[1].Allowed || bs[1].Remaining != 0 {
			t.Fatalf("TakeTokens with an empty bucket = %+v, %v; want the second refused", bs, err)
		}
		checkTime(t, "refused bucket's Reset", bs[1].Reset, t0.Add(time.Hour))
		// Nothing was taken from the first bucket.
		checkTake(t, st, "ip", hourly, t0, true, 47, t0.Add(3*refillOne))
	}},
	{"CreateCodeTakesInItsTransaction", func(t *testing.T, s *suite) {
		st := s.open(t)
		one := store.Limit{Burst: 1, Per: time.Hour}
		takes := []store.Take{{Key: "ip", Limit: hourly}, {Key: "rcpt", Limit: one}}
		c1 := newCode("c1", "email", "a@example.com", "111111", t0)
		bs, err := st.CreateCode(ctx(t), c1, &store.OutboxMessage{ID: "m1", Kind: "email", Recipient: "a@example.com",
			Payload: []byte("x"), NotAfter: c1.ExpiresAt, NextAttempt: t0, Status: store.OutboxPending, CreatedAt: t0}, nil, takes...)
		if err != nil || len(bs) != 2 || bs[0].Remaining != 49 || bs[1].Remaining != 0 {
			t.Fatalf("CreateCode with takes = %+v, %v", bs, err)
		}
		// The recipient's bucket is empty: the second code is not stored,
		// its message not queued, and the first code lives on.
		c2 := newCode("c2", "email", "a@example.com", "222222", t0.Add(time.Second))
		bs, err = st.CreateCode(ctx(t), c2, &store.OutboxMessage{ID: "m2", Kind: "email", Recipient: "a@example.com",
			Payload: []byte("x"), NotAfter: c2.ExpiresAt, NextAttempt: t0, Status: store.OutboxPending, CreatedAt: t0}, nil, takes...)
		if !errors.Is(err, store.ErrRateLimited) || len(bs) != 2 || bs[1].Allowed {
			t.Fatalf("CreateCode over the limit = %+v, %v; want ErrRateLimited", bs, err)
		}
		verify(t, st, "email", "a@example.com", "222222", t0.Add(2*time.Second), store.ErrCodeWrong)
		verify(t, st, "email", "a@example.com", "111111", t0.Add(2*time.Second), nil)
		msgs, err := st.ClaimOutbox(ctx(t), t0.Add(time.Minute), time.Minute, 10)
		if err != nil || len(msgs) != 1 || msgs[0].ID != "m1" {
			t.Errorf("outbox after a refused CreateCode = %+v, %v; want only m1", msgs, err)
		}
		checkTake(t, st, "ip", hourly, t0.Add(time.Second), true, 48, t0.Add(time.Second+2*refillOne-time.Second))
	}},
	{"ConcurrentCreateCodesTakeEachTokenOnce", func(t *testing.T, s *suite) {
		st := s.open(t)
		lim := store.Limit{Burst: 5, Per: time.Hour}
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			c := newCode(fmt.Sprint("c", i), "email", fmt.Sprint(i, "@example.com"), "123456", t0)
			_, errs[i] = st.CreateCode(ctx(t), c, nil, nil, store.Take{Key: "ip", Limit: lim})
		})
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrRateLimited):
				t.Errorf("CreateCode %d: %v", i, err)
			}
		}
		if ok != lim.Burst {
			t.Errorf("%d concurrent CreateCodes under a bucket of %d: %d stored", workers, lim.Burst, ok)
		}
	}},
}
