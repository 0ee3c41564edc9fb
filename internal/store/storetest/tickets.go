package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// ticketLifetime is the life the oauth package gives a login ticket.
const ticketLifetime = 5 * time.Minute

// newTicket returns a login ticket whose value is id, issued at issued, with
// every field set.
func newTicket(id string, issued time.Time) store.LoginTicket {
	return store.LoginTicket{
		ID:           id,
		Hash:         tokenHash("ticket:" + id),
		VerifierHash: tokenHash("verifier:" + id),
		ClientID:     "cli-a",
		UserID:       "email|000000000000000000000001",
		CreatedAt:    issued,
		ExpiresAt:    issued.Add(ticketLifetime),
	}
}

func createTicket(t *testing.T, st store.Store, lt store.LoginTicket) {
	t.Helper()
	if err := st.CreateLoginTicket(ctx(t), lt); err != nil {
		t.Fatalf("CreateLoginTicket(%s): %v", lt.ID, err)
	}
}

// redeemTicket calls RedeemLoginTicket for the ticket whose value is id and
// checks the error.
func redeemTicket(t *testing.T, st store.Store, id string, now time.Time, want error) store.LoginTicket {
	t.Helper()
	got, err := st.RedeemLoginTicket(ctx(t), tokenHash("ticket:"+id), now)
	if !errors.Is(err, want) {
		t.Fatalf("RedeemLoginTicket(%s) at %v = %v, want %v", id, now.Sub(t0), err, want)
	}
	return got
}

var ticketTests = []test{
	{"RedeemReturnsEveryField", func(t *testing.T, s *suite) {
		st := s.open(t)
		want := newTicket("lt1", t0)
		createTicket(t, st, want)
		got := redeemTicket(t, st, "lt1", t0.Add(time.Second), nil)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("RedeemLoginTicket =\n%+v\nwant\n%+v", got, want)
		}
		checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
		checkTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	}},
	{"RedeemsOnce", func(t *testing.T, s *suite) {
		st := s.open(t)
		createTicket(t, st, newTicket("lt1", t0))
		redeemTicket(t, st, "lt1", t0, nil)
		redeemTicket(t, st, "lt1", t0, store.ErrNotFound)
		redeemTicket(t, st, "nope", t0, store.ErrNotFound)
	}},
	{"ExpiredIsRefusedAndGone", func(t *testing.T, s *suite) {
		st := s.open(t)
		lt := newTicket("lt1", t0)
		createTicket(t, st, lt)
		createTicket(t, st, newTicket("lt2", t0))
		redeemTicket(t, st, "lt1", lt.ExpiresAt, store.ErrCodeExpired)
		redeemTicket(t, st, "lt1", t0, store.ErrNotFound)
		redeemTicket(t, st, "lt2", lt.ExpiresAt.Add(-time.Millisecond), nil)
	}},
	{"DuplicatesAreRefused", func(t *testing.T, s *suite) {
		st := s.open(t)
		createTicket(t, st, newTicket("lt1", t0))
		sameHash := newTicket("lt2", t0)
		sameHash.Hash = tokenHash("ticket:lt1")
		if err := st.CreateLoginTicket(ctx(t), sameHash); !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("CreateLoginTicket with a known hash = %v, want ErrAlreadyExists", err)
		}
		sameID := newTicket("lt1", t0)
		sameID.Hash = tokenHash("ticket:lt3")
		if err := st.CreateLoginTicket(ctx(t), sameID); !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("CreateLoginTicket with a known ID = %v, want ErrAlreadyExists", err)
		}
	}},
	{"ConcurrentRedemptionsHaveOneWinner", func(t *testing.T, s *suite) {
		st := s.open(t)
		createTicket(t, st, newTicket("lt1", t0))
		errs := make([]error, racers)
		parallel(racers, func(i int) {
			_, errs[i] = st.RedeemLoginTicket(ctx(t), tokenHash("ticket:lt1"), t0.Add(time.Second))
		})
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("redemption %d: %v", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d redemptions of one login ticket succeeded, want exactly 1", wins)
		}
	}},
}
