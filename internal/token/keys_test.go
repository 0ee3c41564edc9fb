package token_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sesame-id/sesame/internal/clocktest"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/sqlite"
	"github.com/sesame-id/sesame/internal/token"
)

// openStore opens (and migrates) a store on the database file path; several
// calls on one path are several replicas.
func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

func load(t *testing.T, st token.KeyStore, opts token.Options) *token.Keys {
	t.Helper()
	k, err := token.LoadKeys(t.Context(), st, opts)
	if err != nil {
		t.Fatalf("LoadKeys: %v", err)
	}
	return k
}

// run runs k's reload loop until the test ends.
func run(t *testing.T, k *token.Keys) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { k.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func sign(t *testing.T, k *token.Keys, alg string) string {
	t.Helper()
	raw, err := k.Sign(t.Context(), alg, map[string]any{"sub": "user", "alg-asked": alg})
	if err != nil {
		t.Fatalf("Sign(%s): %v", alg, err)
	}
	return raw
}

// header returns a JWT's alg and kid.
func header(t *testing.T, raw string) (alg, kid string) {
	t.Helper()
	obj, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	h := obj.Signatures[0].Header
	return h.Algorithm, h.KeyID
}

// verifyWithJWKS checks raw the way a relying party does: against the
// published JWKS document, with go-jose, knowing nothing of Sesame.
func verifyWithJWKS(t *testing.T, jwks []byte, raw string) error {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatalf("JWKS %s: %v", jwks, err)
	}
	obj, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return err
	}
	h := obj.Signatures[0].Header
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		return errors.New("kid " + h.KeyID + " is not in the JWKS")
	}
	if keys[0].Algorithm != h.Algorithm || !keys[0].IsPublic() || !keys[0].Valid() {
		return errors.New("JWK " + h.KeyID + " does not match the token")
	}
	_, err = obj.Verify(keys[0])
	return err
}

func jwksKIDs(t *testing.T, jwks []byte) []string {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

// A rotation made through another store handle on the same file (another
// replica, or `sesame keys rotate`) reaches a running Keys at its next
// reload: new tokens carry the new kid, and tokens of the old key still
// verify.
func TestKeys_ReloadPicksUpARotationMadeElsewhere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	k := load(t, openStore(t, path), token.Options{ReloadInterval: 20 * time.Millisecond})
	run(t, k)
	before := sign(t, k, token.RS256)
	_, oldKID := header(t, before)

	other := openStore(t, path)
	next, err := token.NewKey(token.RS256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.RotateSigningKey(t.Context(), next, oldKID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, kid := header(t, sign(t, k, token.RS256)); kid == next.KID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s (reload every 20 ms) tokens are still signed with %s, not %s", oldKID, next.KID)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if kids := jwksKIDs(t, k.JWKS()); !slices.Equal(kids, []string{next.KID, oldKID}) {
		t.Errorf("JWKS kids = %q, want the new and the old key %q", kids, []string{next.KID, oldKID})
	}
	if _, err := k.Verify(t.Context(), before); err != nil {
		t.Errorf("a token signed before the rotation no longer verifies: %v", err)
	}
	if err := verifyWithJWKS(t, k.JWKS(), before); err != nil {
		t.Errorf("a token signed before the rotation fails against the JWKS: %v", err)
	}
}

// The first ES256 token creates the ES256 key; ES256 and RS256 tokens each
// verify against the JWKS with their own key, and the header cannot pick
// another algorithm for a key.
func TestKeys_ES256SignsAndVerifies(t *testing.T) {
	k := load(t, openStore(t, filepath.Join(t.TempDir(), "sesame.db")), token.Options{})
	if kids := jwksKIDs(t, k.JWKS()); len(kids) != 1 {
		t.Fatalf("JWKS before any ES256 token = %q, want the RS256 key alone", kids)
	}
	es := sign(t, k, token.ES256)
	rs := sign(t, k, token.RS256)
	esAlg, esKID := header(t, es)
	rsAlg, rsKID := header(t, rs)
	if esAlg != "ES256" || rsAlg != "RS256" || esKID == rsKID {
		t.Fatalf("headers: ES256 token %s/%s, RS256 token %s/%s", esAlg, esKID, rsAlg, rsKID)
	}
	if kid, _, ok := k.Current(token.ES256); !ok || kid != esKID {
		t.Errorf("Current(ES256) = %q, %v; want %q", kid, ok, esKID)
	}
	for _, raw := range []string{es, rs} {
		if _, err := k.Verify(t.Context(), raw); err != nil {
			t.Errorf("Verify: %v", err)
		}
		if err := verifyWithJWKS(t, k.JWKS(), raw); err != nil {
			t.Errorf("against the JWKS: %v", err)
		}
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(k.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	for _, jwk := range set.Keys {
		if !jwk.IsPublic() {
			t.Errorf("JWK %s publishes a private key", jwk.KeyID)
		}
	}
	if !strings.Contains(string(k.JWKS()), `"crv":"P-256"`) {
		t.Errorf("JWKS has no P-256 key: %s", k.JWKS())
	}
	// A second ES256 token uses the same key.
	if _, kid := header(t, sign(t, k, token.ES256)); kid != esKID {
		t.Errorf("second ES256 token signed by %s, want %s", kid, esKID)
	}

	// The ES256 token's signature under the RS256 key's kid.
	parts := strings.Split(es, ".")
	b, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": rsKID, "typ": "JWT"})
	forged := base64.RawURLEncoding.EncodeToString(b) + "." + parts[1] + "." + parts[2]
	if _, err := k.Verify(t.Context(), forged); !errors.Is(err, token.ErrInvalidToken) {
		t.Errorf("an ES256 token naming the RSA key's kid verified: %v", err)
	}
	if _, err := k.Sign(t.Context(), "HS256", map[string]any{}); err == nil {
		t.Error("Sign(HS256) succeeded; callers map HS256 to RS256 with Algorithm")
	}
}

func TestAlgorithm_SignsRS256UnlessES256(t *testing.T) {
	for in, want := range map[string]string{"": "RS256", "RS256": "RS256", "HS256": "RS256", "PS256": "RS256", "ES256": "ES256"} {
		if got := token.Algorithm(in); got != want {
			t.Errorf("Algorithm(%q) = %q, want %q", in, got, want)
		}
	}
}

// A rotated key stays in the JWKS, and its tokens verify, until its
// PublishedUntil; then it is gone.
func TestKeys_JWKSKeepsTheOldKeyUntilPublishedUntil(t *testing.T) {
	clock := clocktest.New(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	k := load(t, openStore(t, filepath.Join(t.TempDir(), "sesame.db")), token.Options{Now: clock.Now})
	before := sign(t, k, token.RS256)
	_, oldKID := header(t, before)

	next, replaced, err := k.Rotate(t.Context(), token.RS256, oldKID, 10*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if replaced.KID != oldKID || !replaced.PublishedUntil.Equal(clock.Now().Add(10*time.Hour)) || replaced.PrivatePEM != nil || next.PrivatePEM != nil {
		t.Errorf("Rotate replaced %s until %v (private key %t); want %s until +10h, no private keys returned",
			replaced.KID, replaced.PublishedUntil, replaced.PrivatePEM != nil, oldKID)
	}
	// The new key is published at once but signs only after Activation,
	// when no replica's or relying party's JWKS can lack it any more.
	if kids := jwksKIDs(t, k.JWKS()); !slices.Equal(kids, []string{next.KID, oldKID}) {
		t.Errorf("JWKS right after Rotate = %q, want the new key and the old", kids)
	}
	if _, kid := header(t, sign(t, k, token.RS256)); kid != oldKID {
		t.Errorf("right after Rotate tokens are signed by %s, want the old key %s until the new one is everywhere", kid, oldKID)
	}
	clock.Advance(token.Activation(token.DefaultReloadInterval) - time.Millisecond)
	if err := k.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, kid := header(t, sign(t, k, token.RS256)); kid != oldKID {
		t.Errorf("just before Activation tokens are signed by %s, want the old key %s", kid, oldKID)
	}
	if kid, _, _ := k.Current(token.RS256); kid != next.KID {
		t.Errorf("Current = %s while the new key waits, want the new key %s (the next rotation replaces it)", kid, next.KID)
	}
	clock.Advance(time.Millisecond)
	if err := k.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, kid := header(t, sign(t, k, token.RS256)); kid != next.KID {
		t.Errorf("after Activation tokens are signed by %s, want the new key %s", kid, next.KID)
	}

	clock.Advance(10*time.Hour - token.Activation(token.DefaultReloadInterval) - time.Millisecond)
	if err := k.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if kids := jwksKIDs(t, k.JWKS()); !slices.Equal(kids, []string{next.KID, oldKID}) {
		t.Errorf("JWKS just before PublishedUntil = %q, want both keys", kids)
	}
	if _, err := k.Verify(t.Context(), before); err != nil {
		t.Errorf("old token just before PublishedUntil: %v", err)
	}

	clock.Advance(time.Millisecond)
	if err := k.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if kids := jwksKIDs(t, k.JWKS()); !slices.Equal(kids, []string{next.KID}) {
		t.Errorf("JWKS at PublishedUntil = %q, want the new key alone", kids)
	}
	if _, err := k.Verify(t.Context(), before); !errors.Is(err, token.ErrInvalidToken) {
		t.Errorf("old token after its key left the JWKS: %v, want ErrInvalidToken", err)
	}
}

// failingStore is a store whose SigningKeys fails on demand, after having
// worked.
type failingStore struct {
	token.KeyStore
	mu   sync.Mutex
	fail bool
}

func (f *failingStore) SigningKeys(ctx context.Context, now time.Time) ([]store.SigningKey, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return nil, store.ErrUnavailable
	}
	return f.KeyStore.SigningKeys(ctx, now)
}

// A reload that fails (the database is away) keeps the keys loaded before:
// signing and verifying go on.
func TestKeys_FailedReloadKeepsTheKeys(t *testing.T) {
	fs := &failingStore{KeyStore: openStore(t, filepath.Join(t.TempDir(), "sesame.db"))}
	k := load(t, fs, token.Options{})
	jwks := k.JWKS()
	before := sign(t, k, token.RS256)
	fs.mu.Lock()
	fs.fail = true
	fs.mu.Unlock()
	if err := k.Reload(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Reload on a failing store = %v, want ErrUnavailable", err)
	}
	if string(k.JWKS()) != string(jwks) {
		t.Errorf("JWKS changed after a failed reload")
	}
	if _, err := k.Verify(t.Context(), before); err != nil {
		t.Errorf("Verify after a failed reload: %v", err)
	}
	sign(t, k, token.RS256)
}

// Replicas on a schedule all find the same key due; one rotation happens,
// and every replica signs with its key afterwards.
func TestKeys_ScheduledRotationOnManyReplicasRotatesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	// Stores keep milliseconds.
	clock := clocktest.New(time.Now().Truncate(time.Millisecond))
	opts := token.Options{Now: clock.Now, RotateEvery: 24 * time.Hour, PublishFor: func() time.Duration { return 48 * time.Hour }}
	var replicas []*token.Keys
	for range 4 {
		replicas = append(replicas, load(t, openStore(t, path), opts))
	}
	first, _, _ := replicas[0].Current(token.RS256)
	for _, k := range replicas {
		if err := k.RotateDue(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if kid, _, _ := replicas[0].Current(token.RS256); kid != first {
		t.Fatalf("a key younger than RotateEvery was rotated: %s -> %s", first, kid)
	}

	clock.Advance(24 * time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, len(replicas))
	for i, k := range replicas {
		wg.Go(func() { errs[i] = k.RotateDue(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	keys, err := openStore(t, path).SigningKeys(t.Context(), clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[1].KID != first || !keys[1].PublishedUntil.Equal(clock.Now().Add(48*time.Hour)) {
		var got []string
		for _, k := range keys {
			got = append(got, k.KID+" until "+k.PublishedUntil.String())
		}
		t.Fatalf("after 4 replicas rotated on schedule the store holds %q; want one new key and %s published for 48h", got, first)
	}
	for i, k := range replicas {
		if kid, _, _ := k.Current(token.RS256); kid != keys[0].KID {
			t.Errorf("replica %d signs with %s, want the one new key %s", i, kid, keys[0].KID)
		}
	}
}
