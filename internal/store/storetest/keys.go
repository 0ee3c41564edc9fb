package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// signingKey is RS256 key number i, created i seconds after t0.
func signingKey(i int) store.SigningKey { return algKey("RS256", i) }

// algKey is key number i of alg, created i seconds after t0. The store does
// not parse the PEM, so it need not hold a real key.
func algKey(alg string, i int) store.SigningKey {
	return store.SigningKey{
		KID:        fmt.Sprintf("%s-kid-%d", alg, i),
		Algorithm:  alg,
		PrivatePEM: []byte(fmt.Sprintf("-----BEGIN PRIVATE KEY-----\n%s %d\n-----END PRIVATE KEY-----\n", alg, i)),
		CreatedAt:  t0.Add(time.Duration(i) * time.Second),
	}
}

// rotated is k as RotateSigningKey leaves it when next replaces it.
func rotated(k store.SigningKey, next store.SigningKey, until time.Time) store.SigningKey {
	k.RotatedAt, k.PublishedUntil = next.CreatedAt, until
	return k
}

func checkKeys(t *testing.T, st store.Store, now time.Time, want ...store.SigningKey) {
	t.Helper()
	got, err := st.SigningKeys(ctx(t), now)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SigningKeys at t0%+v:\n got  %s\n want %s", now.Sub(t0), kids(got), kids(want))
		for i := range min(len(got), len(want)) {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("key %d = %+v, want %+v", i, got[i], want[i])
			}
		}
	}
}

func kids(keys []store.SigningKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.KID)
	}
	return out
}

func rotate(t *testing.T, st store.Store, next store.SigningKey, replaces string, until time.Time) store.SigningKey {
	t.Helper()
	old, err := st.RotateSigningKey(ctx(t), next, replaces, until)
	if err != nil {
		t.Fatalf("RotateSigningKey(%s, replaces %q): %v", next.KID, replaces, err)
	}
	return old
}

func ensureKey(t *testing.T, st store.Store, candidate store.SigningKey) store.SigningKey {
	t.Helper()
	got, err := st.EnsureSigningKey(ctx(t), candidate)
	if err != nil {
		t.Fatalf("EnsureSigningKey(%s): %v", candidate.KID, err)
	}
	return got
}

var signingKeyTests = []test{
	{"NoneAtFirst", func(t *testing.T, s *suite) {
		st := s.open(t)
		checkKeys(t, st, t0)
	}},
	{"FirstCandidateWins", func(t *testing.T, s *suite) {
		st := s.open(t)
		k1, k2 := signingKey(1), signingKey(2)
		if got := ensureKey(t, st, k1); !reflect.DeepEqual(got, k1) {
			t.Errorf("EnsureSigningKey on an empty store = %+v, want the candidate %+v", got, k1)
		}
		if got := ensureKey(t, st, k2); !reflect.DeepEqual(got, k1) {
			t.Errorf("EnsureSigningKey with a current key = %+v, want the current key %+v", got, k1)
		}
		checkKeys(t, st, t0, k1)
	}},
	{"ConcurrentCallersAgree", func(t *testing.T, s *suite) {
		st := s.open(t)
		got := make([]store.SigningKey, workers)
		errs := make([]error, workers)
		parallel(workers, func(i int) { got[i], errs[i] = st.EnsureSigningKey(ctx(t), signingKey(i)) })
		for i := range workers {
			if errs[i] != nil {
				t.Fatalf("EnsureSigningKey %d: %v", i, errs[i])
			}
			if !reflect.DeepEqual(got[i], got[0]) {
				t.Errorf("caller %d got key %s, caller 0 got %s", i, got[i].KID, got[0].KID)
			}
		}
		checkKeys(t, st, t0, got[0])
	}},
	{"OneCurrentKeyPerAlgorithm", func(t *testing.T, s *suite) {
		st := s.open(t)
		rs, es := algKey("RS256", 1), algKey("ES256", 2)
		ensureKey(t, st, rs)
		if got := ensureKey(t, st, es); !reflect.DeepEqual(got, es) {
			t.Errorf("EnsureSigningKey(ES256) beside an RS256 key = %+v, want the ES256 candidate", got)
		}
		if got := ensureKey(t, st, algKey("ES256", 3)); !reflect.DeepEqual(got, es) {
			t.Errorf("second EnsureSigningKey(ES256) = %+v, want the first ES256 key", got)
		}
		if got := ensureKey(t, st, algKey("RS256", 4)); !reflect.DeepEqual(got, rs) {
			t.Errorf("second EnsureSigningKey(RS256) = %+v, want the first RS256 key", got)
		}
		checkKeys(t, st, t0, es, rs)

		// Rotating one algorithm leaves the other's current key alone.
		es5 := algKey("ES256", 5)
		until := t0.Add(time.Hour)
		if old := rotate(t, st, es5, es.KID, until); !reflect.DeepEqual(old, rotated(es, es5, until)) {
			t.Errorf("RotateSigningKey(ES256) replaced %+v, want %+v", old, rotated(es, es5, until))
		}
		checkKeys(t, st, t0.Add(10*time.Second), es5, rotated(es, es5, until), rs)
		if got := ensureKey(t, st, algKey("RS256", 6)); !reflect.DeepEqual(got, rs) {
			t.Errorf("EnsureSigningKey(RS256) after an ES256 rotation = %+v, want %+v", got, rs)
		}
	}},
	{"RotateMakesTheNewKeyCurrent", func(t *testing.T, s *suite) {
		st := s.open(t)
		k1, k2, k3 := signingKey(1), signingKey(2), signingKey(3)
		ensureKey(t, st, k1)
		until1 := t0.Add(26 * time.Hour)
		old := rotate(t, st, k2, k1.KID, until1)
		if want := rotated(k1, k2, until1); !reflect.DeepEqual(old, want) {
			t.Errorf("RotateSigningKey returned %+v, want the replaced key %+v", old, want)
		}
		if got := ensureKey(t, st, signingKey(9)); !reflect.DeepEqual(got, k2) {
			t.Errorf("EnsureSigningKey after a rotation = %+v, want the new current key %+v", got, k2)
		}
		checkKeys(t, st, t0.Add(time.Hour), k2, rotated(k1, k2, until1))

		// Without replaces the rotation is unconditional.
		until2 := t0.Add(27 * time.Hour)
		if old := rotate(t, st, k3, "", until2); old.KID != k2.KID {
			t.Errorf("unconditional RotateSigningKey replaced %q, want %q", old.KID, k2.KID)
		}
		checkKeys(t, st, t0.Add(time.Hour), k3, rotated(k2, k3, until2), rotated(k1, k2, until1))
	}},
	{"RotateWithoutCurrentKeyCreatesOne", func(t *testing.T, s *suite) {
		st := s.open(t)
		k1 := signingKey(1)
		if old := rotate(t, st, k1, "", t0.Add(time.Hour)); !reflect.DeepEqual(old, store.SigningKey{}) {
			t.Errorf("RotateSigningKey on an empty store replaced %+v, want the zero key", old)
		}
		checkKeys(t, st, t0, k1)
	}},
	{"RotateOfAKeyThatIsNotCurrentChangesNothing", func(t *testing.T, s *suite) {
		st := s.open(t)
		// On an empty store, replacing anything is replacing a stale key.
		if _, err := st.RotateSigningKey(ctx(t), signingKey(1), "RS256-kid-0", t0.Add(time.Hour)); !errors.Is(err, store.ErrKeyChanged) {
			t.Fatalf("RotateSigningKey replacing a key of an empty store = %v, want ErrKeyChanged", err)
		}
		checkKeys(t, st, t0)

		k1, k2 := signingKey(1), signingKey(2)
		ensureKey(t, st, k1)
		until := t0.Add(time.Hour)
		rotate(t, st, k2, k1.KID, until)
		// A second replica that also saw k1 as current loses.
		if _, err := st.RotateSigningKey(ctx(t), signingKey(3), k1.KID, t0.Add(2*time.Hour)); !errors.Is(err, store.ErrKeyChanged) {
			t.Fatalf("RotateSigningKey replacing a rotated key = %v, want ErrKeyChanged", err)
		}
		// replaces names the wrong algorithm's key.
		if _, err := st.RotateSigningKey(ctx(t), algKey("ES256", 4), k2.KID, t0.Add(2*time.Hour)); !errors.Is(err, store.ErrKeyChanged) {
			t.Fatalf("RotateSigningKey(ES256) replacing an RS256 key = %v, want ErrKeyChanged", err)
		}
		checkKeys(t, st, t0, k2, rotated(k1, k2, until))
	}},
	{"RotateToAnExistingKIDFailsAndChangesNothing", func(t *testing.T, s *suite) {
		st := s.open(t)
		k1, k2 := signingKey(1), signingKey(2)
		ensureKey(t, st, k1)
		until := t0.Add(time.Hour)
		rotate(t, st, k2, k1.KID, until)
		again := k1
		again.CreatedAt = t0.Add(5 * time.Second)
		if _, err := st.RotateSigningKey(ctx(t), again, k2.KID, t0.Add(2*time.Hour)); !errors.Is(err, store.ErrAlreadyExists) {
			t.Fatalf("RotateSigningKey to a kid that exists = %v, want ErrAlreadyExists", err)
		}
		checkKeys(t, st, t0, k2, rotated(k1, k2, until))
	}},
	{"ConcurrentRotationsOfOneKeyRotateOnce", func(t *testing.T, s *suite) {
		st := s.open(t)
		k0 := signingKey(0)
		ensureKey(t, st, k0)
		until := t0.Add(time.Hour)
		olds := make([]store.SigningKey, workers)
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			olds[i], errs[i] = st.RotateSigningKey(ctx(t), signingKey(100+i), k0.KID, until)
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Errorf("rotations %d and %d both succeeded", winner, i)
				}
				winner = i
				if olds[i].KID != k0.KID {
					t.Errorf("winning rotation replaced %q, want %q", olds[i].KID, k0.KID)
				}
			case !errors.Is(err, store.ErrKeyChanged):
				t.Errorf("rotation %d: %v, want ErrKeyChanged", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no rotation succeeded")
		}
		next := signingKey(100 + winner)
		checkKeys(t, st, t0, next, rotated(k0, next, until))
	}},
	{"RotatedKeysArePublishedUntilPublishedUntil", func(t *testing.T, s *suite) {
		st := s.open(t)
		k1, k2, k3 := signingKey(1), signingKey(2), signingKey(3)
		ensureKey(t, st, k1)
		until1, until2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
		rotate(t, st, k2, k1.KID, until1)
		rotate(t, st, k3, k2.KID, until2)
		r1, r2 := rotated(k1, k2, until1), rotated(k2, k3, until2)
		checkKeys(t, st, until1.Add(-time.Millisecond), k3, r2, r1)
		checkKeys(t, st, until1, k3, r2)
		checkKeys(t, st, until2.Add(-time.Millisecond), k3, r2)
		checkKeys(t, st, until2, k3)
		// The current key has no end.
		checkKeys(t, st, t0.Add(100*365*24*time.Hour), k3)
	}},
}
