package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

func tokenHash(value string) []byte {
	h := sha256.Sum256([]byte(value))
	return h[:]
}

// newToken returns a current refresh token of client cli-a whose value is
// id; family "" starts a family named id.
func newToken(id, family string, now time.Time) store.RefreshToken {
	if family == "" {
		family = id
	}
	return store.RefreshToken{
		ID:        id,
		Hash:      tokenHash(id),
		FamilyID:  family,
		ClientID:  "cli-a",
		UserID:    "email|000000000000000000000001",
		Scope:     "openid offline_access",
		Audience:  "https://api.example.com/",
		CreatedAt: now,
	}
}

// nextToken is the token the oauth package prepares for a rotation.
func nextToken(id string, now time.Time) *store.RefreshToken {
	t := newToken(id, "", now)
	t.FamilyID = "" // the store puts next in the presented token's family
	return &t
}

func createToken(t *testing.T, st store.Store, tok store.RefreshToken) {
	t.Helper()
	if err := st.CreateRefreshToken(ctx(t), tok); err != nil {
		t.Fatalf("CreateRefreshToken(%s): %v", tok.ID, err)
	}
}

func lookup(t *testing.T, st store.Store, value string) store.RefreshToken {
	t.Helper()
	tok, err := st.RefreshToken(ctx(t), tokenHash(value))
	if err != nil {
		t.Fatalf("RefreshToken(%s): %v", value, err)
	}
	return tok
}

// use calls UseRefreshToken and checks the error.
func use(t *testing.T, st store.Store, value string, now time.Time, rotate bool, leeway time.Duration, next *store.RefreshToken, want error) store.RefreshToken {
	t.Helper()
	got, err := st.UseRefreshToken(ctx(t), tokenHash(value), now, rotate, leeway, next)
	if !errors.Is(err, want) {
		t.Fatalf("UseRefreshToken(%s, rotate %v) at %v = %v, want %v", value, rotate, now.Sub(t0), err, want)
	}
	return got
}

func checkRevoked(t *testing.T, st store.Store, values ...string) {
	t.Helper()
	for _, v := range values {
		if tok := lookup(t, st, v); tok.RevokedAt.IsZero() {
			t.Errorf("token %s is not revoked", v)
		}
	}
}

func checkNotRevoked(t *testing.T, st store.Store, values ...string) {
	t.Helper()
	for _, v := range values {
		if tok := lookup(t, st, v); !tok.RevokedAt.IsZero() {
			t.Errorf("token %s is revoked", v)
		}
	}
}

var refreshTests = []test{
	{"CreateAndLookUp", func(t *testing.T, s *suite) {
		st := s.open(t)
		tok := newToken("rt1", "", t0)
		tok.ExpiresAt = t0.Add(30 * 24 * time.Hour)
		createToken(t, st, tok)
		if got := lookup(t, st, "rt1"); !reflect.DeepEqual(got, tok) {
			t.Errorf("RefreshToken =\n%+v\nwant\n%+v", got, tok)
		}
		if _, err := st.RefreshToken(ctx(t), tokenHash("nope")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RefreshToken(unknown) = %v, want ErrNotFound", err)
		}
		use(t, st, "nope", t0, false, 0, nil, store.ErrNotFound)
		dup := newToken("rt2", "", t0)
		dup.Hash = tokenHash("rt1")
		if err := st.CreateRefreshToken(ctx(t), dup); !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("CreateRefreshToken with a known hash = %v, want ErrAlreadyExists", err)
		}
	}},
	{"NonRotatingUseChangesNothing", func(t *testing.T, s *suite) {
		st := s.open(t)
		tok := newToken("rt1", "", t0)
		createToken(t, st, tok)
		for i := range 3 {
			got := use(t, st, "rt1", t0.Add(time.Duration(i)*time.Hour), false, 0, nil, nil)
			if !reflect.DeepEqual(got, tok) {
				t.Errorf("use %d returned %+v, want %+v", i, got, tok)
			}
		}
		if got := lookup(t, st, "rt1"); !reflect.DeepEqual(got, tok) {
			t.Errorf("after non-rotating uses the token is %+v, want unchanged %+v", got, tok)
		}
	}},
	{"RotationStoresNextInTheFamily", func(t *testing.T, s *suite) {
		st := s.open(t)
		createToken(t, st, newToken("rt1", "", t0))
		now := t0.Add(time.Hour)
		got := use(t, st, "rt1", now, true, 0, nextToken("rt2", now), nil)
		if got.ID != "rt1" {
			t.Errorf("UseRefreshToken returned token %s, want the presented rt1", got.ID)
		}
		checkTime(t, "RotatedAt of the presented token", lookup(t, st, "rt1").RotatedAt, now)
		next := lookup(t, st, "rt2")
		want := newToken("rt2", "rt1", now)
		if !reflect.DeepEqual(next, want) {
			t.Errorf("stored next token =\n%+v\nwant\n%+v", next, want)
		}
		// The next one rotates in turn.
		use(t, st, "rt2", now.Add(time.Hour), true, 0, nextToken("rt3", now.Add(time.Hour)), nil)
		if f := lookup(t, st, "rt3").FamilyID; f != "rt1" {
			t.Errorf("rt3 is in family %q, want rt1", f)
		}
	}},
	{"ReuseAfterLeewayRevokesTheFamily", func(t *testing.T, s *suite) {
		st := s.open(t)
		createToken(t, st, newToken("other", "", t0))
		createToken(t, st, newToken("rt1", "", t0))
		use(t, st, "rt1", t0, true, 0, nextToken("rt2", t0), nil)
		use(t, st, "rt2", t0.Add(time.Minute), true, 0, nextToken("rt3", t0), nil)
		use(t, st, "rt1", t0.Add(2*time.Minute), true, 0, nextToken("rt4", t0), store.ErrTokenReused)
		if _, err := st.RefreshToken(ctx(t), tokenHash("rt4")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a reused token's next was stored (RefreshToken = %v)", err)
		}
		checkRevoked(t, st, "rt1", "rt2", "rt3")
		checkNotRevoked(t, st, "other")
		use(t, st, "rt3", t0.Add(3*time.Minute), true, 0, nextToken("rt5", t0), store.ErrTokenRevoked)
		use(t, st, "rt3", t0.Add(3*time.Minute), false, 0, nil, store.ErrTokenRevoked)
	}},
	{"ReuseWithinLeewayIssuesAnotherToken", func(t *testing.T, s *suite) {
		st := s.open(t)
		const leeway = 10 * time.Second
		createToken(t, st, newToken("rt1", "", t0))
		use(t, st, "rt1", t0, true, leeway, nextToken("rt2", t0), nil)
		// A client that lost the response retries with the old token.
		use(t, st, "rt1", t0.Add(leeway-time.Millisecond), true, leeway, nextToken("rt2b", t0), nil)
		if f := lookup(t, st, "rt2b").FamilyID; f != "rt1" {
			t.Errorf("rt2b is in family %q, want rt1", f)
		}
		checkTime(t, "RotatedAt (the first rotation)", lookup(t, st, "rt1").RotatedAt, t0)
		checkNotRevoked(t, st, "rt1", "rt2", "rt2b")
		// Past the leeway, counted from the first rotation, it is reuse.
		use(t, st, "rt1", t0.Add(leeway), true, leeway, nextToken("rt2c", t0), store.ErrTokenReused)
		checkRevoked(t, st, "rt1", "rt2", "rt2b")
	}},
	{"ExpiredIsNotFound", func(t *testing.T, s *suite) {
		st := s.open(t)
		tok := newToken("rt1", "", t0)
		tok.ExpiresAt = t0.Add(time.Hour)
		createToken(t, st, tok)
		use(t, st, "rt1", tok.ExpiresAt.Add(-time.Millisecond), false, 0, nil, nil)
		use(t, st, "rt1", tok.ExpiresAt, false, 0, nil, store.ErrNotFound)
		use(t, st, "rt1", tok.ExpiresAt, true, 0, nextToken("rt2", t0), store.ErrNotFound)
		// Looked up directly, an expired token is still there.
		lookup(t, st, "rt1")
	}},
	{"RevokeRevokesTheFamilyOfItsClient", func(t *testing.T, s *suite) {
		st := s.open(t)
		createToken(t, st, newToken("other", "", t0))
		createToken(t, st, newToken("rt1", "", t0))
		use(t, st, "rt1", t0, true, 0, nextToken("rt2", t0), nil)

		if err := st.RevokeRefreshToken(ctx(t), tokenHash("rt2"), "cli-b", t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RevokeRefreshToken by another client = %v, want ErrNotFound", err)
		}
		checkNotRevoked(t, st, "rt1", "rt2")
		if err := st.RevokeRefreshToken(ctx(t), tokenHash("nope"), "cli-a", t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RevokeRefreshToken(unknown) = %v, want ErrNotFound", err)
		}

		if err := st.RevokeRefreshToken(ctx(t), tokenHash("rt2"), "cli-a", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		checkRevoked(t, st, "rt1", "rt2")
		checkTime(t, "RevokedAt", lookup(t, st, "rt2").RevokedAt, t0.Add(time.Minute))
		checkNotRevoked(t, st, "other")
		use(t, st, "rt2", t0.Add(2*time.Minute), true, 0, nextToken("rt3", t0), store.ErrTokenRevoked)
		if err := st.RevokeRefreshToken(ctx(t), tokenHash("rt1"), "cli-a", t0.Add(time.Hour)); err != nil {
			t.Errorf("revoking a revoked family again = %v, want nil", err)
		}
		checkTime(t, "RevokedAt after a second revocation", lookup(t, st, "rt2").RevokedAt, t0.Add(time.Minute))
	}},
	{"ConcurrentRotationHasOneWinner", func(t *testing.T, s *suite) {
		st := s.open(t)
		createToken(t, st, newToken("rt1", "", t0))
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			_, errs[i] = st.UseRefreshToken(ctx(t), tokenHash("rt1"), t0, true, 0, nextToken(fmt.Sprintf("next-%d", i), t0))
		})
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrTokenReused), errors.Is(err, store.ErrTokenRevoked):
			default:
				t.Errorf("rotation %d = %v, want success, ErrTokenReused or ErrTokenRevoked", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d concurrent rotations of one token succeeded, want exactly 1", wins)
		}
		// Everybody else was a reuse, so the family is dead.
		checkRevoked(t, st, "rt1")
	}},
	{"RevokeFamilyRevokesEveryTokenOfTheFamily", func(t *testing.T, s *suite) {
		st := s.open(t)
		createToken(t, st, newToken("other", "", t0))
		createToken(t, st, newToken("rt1", "", t0))
		use(t, st, "rt1", t0, true, 0, nextToken("rt2", t0), nil)
		use(t, st, "rt2", t0.Add(time.Minute), true, 0, nextToken("rt3", t0), nil)
		// The family of an authorization code's tokens is named after the
		// code, not after its first token.
		createToken(t, st, newToken("ac-rt1", "ac1", t0))
		createToken(t, st, newToken("ac-rt2", "ac1", t0))

		revokedAt := t0.Add(time.Hour)
		if err := st.RevokeRefreshFamily(ctx(t), "ac1", revokedAt); err != nil {
			t.Fatalf("RevokeRefreshFamily(ac1): %v", err)
		}
		for _, v := range []string{"ac-rt1", "ac-rt2"} {
			checkTime(t, "RevokedAt of "+v, lookup(t, st, v).RevokedAt, revokedAt)
			use(t, st, v, revokedAt, false, 0, nil, store.ErrTokenRevoked)
		}
		checkNotRevoked(t, st, "other", "rt1", "rt2", "rt3")

		if err := st.RevokeRefreshFamily(ctx(t), "rt1", revokedAt); err != nil {
			t.Fatalf("RevokeRefreshFamily(rt1): %v", err)
		}
		for _, v := range []string{"rt1", "rt2", "rt3"} {
			checkTime(t, "RevokedAt of "+v, lookup(t, st, v).RevokedAt, revokedAt)
			use(t, st, v, revokedAt, true, 0, nextToken("next-"+v, revokedAt), store.ErrTokenRevoked)
		}
		checkNotRevoked(t, st, "other")
		use(t, st, "other", revokedAt, false, 0, nil, nil)
	}},
	{"RevokeFamilyKeepsEarlierRevocations", func(t *testing.T, s *suite) {
		st := s.open(t)
		createToken(t, st, newToken("rt1", "", t0))
		if err := st.RevokeRefreshFamily(ctx(t), "rt1", t0); err != nil {
			t.Fatal(err)
		}
		createToken(t, st, newToken("rt2", "rt1", t0)) // joins the family later
		if err := st.RevokeRefreshFamily(ctx(t), "rt1", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		checkTime(t, "RevokedAt of the token revoked first", lookup(t, st, "rt1").RevokedAt, t0)
		checkTime(t, "RevokedAt of the token revoked second", lookup(t, st, "rt2").RevokedAt, t0.Add(time.Hour))
	}},
	{"RevokeUnknownFamilyIsNoError", func(t *testing.T, s *suite) {
		st := s.open(t)
		createToken(t, st, newToken("rt1", "", t0))
		if err := st.RevokeRefreshFamily(ctx(t), "nope", t0); err != nil {
			t.Errorf("RevokeRefreshFamily(unknown) = %v, want nil", err)
		}
		checkNotRevoked(t, st, "rt1")
	}},
}
