package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// authCodeLifetime is the life the oauth package gives an authorization code.
const authCodeLifetime = 60 * time.Second

// authCodeGrace is how long the suite expects an authorization code to be
// kept after it expired: long enough for a replay to be recognised as reuse.
const authCodeGrace = time.Hour

// newAuthCode returns an unused authorization code whose value is id, issued
// at issued, with every field set.
func newAuthCode(id string, issued time.Time) store.AuthCode {
	return store.AuthCode{
		ID:                  id,
		Hash:                tokenHash(id),
		ClientID:            "cli-a",
		UserID:              "email|000000000000000000000001",
		RedirectURI:         "https://app.example.com/callback",
		Scope:               "openid profile offline_access",
		Audience:            "https://api.example.com/",
		Nonce:               "n-0S6_WzA2Mj",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		SessionID:           "sid-1",
		AuthTime:            issued.Add(-time.Minute),
		CreatedAt:           issued,
		ExpiresAt:           issued.Add(authCodeLifetime),
	}
}

func createAuthCode(t *testing.T, st store.Store, c store.AuthCode) {
	t.Helper()
	if err := st.CreateAuthCode(ctx(t), c); err != nil {
		t.Fatalf("CreateAuthCode(%s): %v", c.ID, err)
	}
}

// redeem calls RedeemAuthCode for the code whose value is value and checks
// the error.
func redeem(t *testing.T, st store.Store, value string, now time.Time, want error) store.AuthCode {
	t.Helper()
	got, err := st.RedeemAuthCode(ctx(t), tokenHash(value), now)
	if !errors.Is(err, want) {
		t.Fatalf("RedeemAuthCode(%s) at %v = %v, want %v", value, now.Sub(t0), err, want)
	}
	return got
}

var authCodeTests = []test{
	{"RedeemReturnsEveryField", func(t *testing.T, s *suite) {
		st := s.open(t)
		c := newAuthCode("ac1", t0)
		createAuthCode(t, st, c)
		now := t0.Add(authCodeLifetime - time.Millisecond)
		got := redeem(t, st, "ac1", now, nil)
		want := c
		want.UsedAt = now
		if !reflect.DeepEqual(got, want) {
			t.Errorf("RedeemAuthCode =\n%+v\nwant\n%+v", got, want)
		}
		checkTime(t, "UsedAt", got.UsedAt, now)
	}},
	{"TimesGivenInAnotherZoneComeBackInUTC", func(t *testing.T, s *suite) {
		st := s.open(t)
		zone := time.FixedZone("UTC+5:30", 5*3600+1800)
		c := newAuthCode("ac1", t0)
		c.AuthTime, c.CreatedAt, c.ExpiresAt = c.AuthTime.In(zone), c.CreatedAt.In(zone), c.ExpiresAt.In(zone)
		createAuthCode(t, st, c)
		got := redeem(t, st, "ac1", t0.Add(time.Second).In(zone), nil)
		checkTime(t, "AuthTime", got.AuthTime, t0.Add(-time.Minute))
		checkTime(t, "CreatedAt", got.CreatedAt, t0)
		checkTime(t, "ExpiresAt", got.ExpiresAt, t0.Add(authCodeLifetime))
		checkTime(t, "UsedAt", got.UsedAt, t0.Add(time.Second))
	}},
	{"SecondRedeemIsStaleAndReturnsTheRecord", func(t *testing.T, s *suite) {
		st := s.open(t)
		c := newAuthCode("ac1", t0)
		createAuthCode(t, st, c)
		first := t0.Add(time.Second)
		redeem(t, st, "ac1", first, nil)
		want := c
		want.UsedAt = first
		got := redeem(t, st, "ac1", t0.Add(2*time.Second), store.ErrCodeStale)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("stale RedeemAuthCode returned\n%+v\nwant the stored record\n%+v", got, want)
		}
		// Reuse wins over expiry: a replay after the code's life is still
		// reuse, so the caller revokes what the first redemption issued.
		got = redeem(t, st, "ac1", c.ExpiresAt.Add(time.Minute), store.ErrCodeStale)
		if got.ID != "ac1" {
			t.Errorf("stale RedeemAuthCode after expiry returned %+v, want the stored record", got)
		}
		checkTime(t, "UsedAt after several replays (the first use)", got.UsedAt, first)
	}},
	{"ExpiredIsNotMarkedUsed", func(t *testing.T, s *suite) {
		st := s.open(t)
		c := newAuthCode("ac1", t0)
		createAuthCode(t, st, c)
		redeem(t, st, "ac1", c.ExpiresAt, store.ErrCodeExpired)
		// Had it been marked used, this would be ErrCodeStale.
		redeem(t, st, "ac1", c.ExpiresAt.Add(time.Second), store.ErrCodeExpired)
	}},
	{"UnknownIsNotFound", func(t *testing.T, s *suite) {
		st := s.open(t)
		createAuthCode(t, st, newAuthCode("ac1", t0))
		redeem(t, st, "nope", t0, store.ErrNotFound)
	}},
	{"DuplicatesAreRefused", func(t *testing.T, s *suite) {
		st := s.open(t)
		createAuthCode(t, st, newAuthCode("ac1", t0))
		sameHash := newAuthCode("ac2", t0)
		sameHash.Hash = tokenHash("ac1")
		if err := st.CreateAuthCode(ctx(t), sameHash); !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("CreateAuthCode with a known hash = %v, want ErrAlreadyExists", err)
		}
		sameID := newAuthCode("ac1", t0)
		sameID.Hash = tokenHash("ac3")
		if err := st.CreateAuthCode(ctx(t), sameID); !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("CreateAuthCode with a known ID = %v, want ErrAlreadyExists", err)
		}
		// The refused codes left nothing behind, and the first is intact.
		redeem(t, st, "ac3", t0, store.ErrNotFound)
		redeem(t, st, "ac1", t0, nil)
	}},
	{"ConcurrentRedeemsHaveOneWinner", func(t *testing.T, s *suite) {
		st := s.open(t)
		createAuthCode(t, st, newAuthCode("ac1", t0))
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			_, errs[i] = st.RedeemAuthCode(ctx(t), tokenHash("ac1"), t0.Add(time.Second))
		})
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrCodeStale):
				t.Errorf("redemption %d = %v, want success or ErrCodeStale", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d concurrent redemptions of one code succeeded, want exactly 1", wins)
		}
	}},
}
