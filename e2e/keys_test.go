package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/sesame-id/sesame/internal/app"
	"github.com/sesame-id/sesame/internal/clocktest"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/token"
)

// replica starts another Sesame on a's database file, as a second replica
// behind one public URL: it has a's issuer, and both deliver through a's
// mail server, since either worker may claim a message.
func replica(t *testing.T, a *env, o envOptions) *env {
	t.Helper()
	o.database, o.smtpAddr, o.noSMTP, o.issuer = a.Database, a.SMTP.Addr, true, a.URL
	e := newEnv(t, o)
	e.SMTP = a.SMTP
	return e
}

// login signs in with an email code through clientID and returns the token
// response.
func (e *env) login(clientID, email, scope string, extra ...string) response {
	e.t.Helper()
	tok := e.otp(clientID, email, e.startCode(clientID, email), scope, extra...)
	if tok.Status != 200 {
		e.t.Fatalf("login: %d %s", tok.Status, tok.Body)
	}
	return tok
}

// jwtHeader decodes a JWT's header without checking anything.
func jwtHeader(t *testing.T, raw string) (alg, kid string) {
	t.Helper()
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("JWT header of %q: %v", raw, err)
	}
	var h struct{ Alg, Kid string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("JWT header: %v", err)
	}
	return h.Alg, h.Kid
}

// jwks fetches /.well-known/jwks.json over HTTP.
func (e *env) jwks() jose.JSONWebKeySet {
	e.t.Helper()
	r := e.get("/.well-known/jwks.json")
	var set jose.JSONWebKeySet
	if r.Status != 200 {
		e.t.Fatalf("jwks: %d %s", r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &set); err != nil {
		e.t.Fatalf("jwks %s: %v", r.Body, err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			e.t.Fatalf("the JWKS publishes the private part of %s", k.KeyID)
		}
	}
	return set
}

func kidsOf(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

// verifyAgainstJWKS checks raw's signature the way a resource server does:
// with go-jose, against the JWKS it fetched, by the token's kid, with the
// algorithm the JWK names.
func verifyAgainstJWKS(t *testing.T, set jose.JSONWebKeySet, raw string) error {
	t.Helper()
	obj, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return err
	}
	keys := set.Key(obj.Signatures[0].Header.KeyID)
	if len(keys) != 1 || keys[0].Algorithm != obj.Signatures[0].Header.Algorithm {
		return errNoKey
	}
	_, err = obj.Verify(keys[0])
	return err
}

var errNoKey = errors.New("the token's kid is not in the JWKS, or its JWK names another algorithm")

// waitFor polls cond every 20 ms for up to 5 s (a loaded test machine is
// slow, the reload intervals here are 100 ms or less), and says how long it
// took.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%s: not after 5 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// currentKID reads the current key of alg from the database, as an operator
// would with sesame keys list.
func currentKID(t *testing.T, db, alg string) string {
	t.Helper()
	st, err := app.OpenStore(context.Background(), app.Config{Database: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, err := st.SigningKeys(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Algorithm == alg && k.RotatedAt.IsZero() {
			return k.KID
		}
	}
	t.Fatalf("no current %s key", alg)
	return ""
}

// `sesame keys rotate` beside a running server: tokens signed before keep
// verifying through the JWKS (with go-oidc, as a relying party does), and
// the server signs with the new key within its reload interval, without a
// restart.
func TestKeys_RotateWhileServing(t *testing.T) {
	e := newEnv(t, envOptions{keyReload: 100 * time.Millisecond})
	ctx := oidc.ClientContext(context.Background(), e.HTTP)
	before := e.login(webClientID, "alice@example.com", "openid email")
	_, oldKID := jwtHeader(t, before.str("id_token"))

	var out bytes.Buffer
	if err := app.Keys(context.Background(), app.Config{Database: e.Database, KeyReloadInterval: 100 * time.Millisecond},
		[]string{"rotate"}, &out); err != nil {
		t.Fatalf("sesame keys rotate: %v", err)
	}
	newKID := currentKID(t, e.Database, "RS256")
	if newKID == oldKID || !strings.Contains(out.String(), newKID) {
		t.Fatalf("keys rotate said %q; current key %s, old %s", out.String(), newKID, oldKID)
	}

	took := waitFor(t, "the server signs with the rotated key", func() bool {
		return slices.Contains(kidsOf(e.jwks()), newKID)
	})
	t.Logf("the server published the new key %v after the rotation (reload every 100 ms)", took)
	// It signs with it once every JWKS has it: two reload intervals on.
	time.Sleep(token.Activation(100*time.Millisecond) + 100*time.Millisecond)
	after := e.login(webClientID, "alice@example.com", "openid email")
	for _, raw := range []string{after.str("id_token"), after.str("access_token")} {
		if _, kid := jwtHeader(t, raw); kid != newKID {
			t.Errorf("a token issued after the activation is signed by %s, want the new key %s", kid, newKID)
		}
	}
	if kids := kidsOf(e.jwks()); !slices.Equal(kids, []string{newKID, oldKID}) {
		t.Errorf("JWKS kids = %q, want the new key and the old one %q", kids, []string{newKID, oldKID})
	}

	provider, err := oidc.NewProvider(ctx, e.URL)
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: webClientID})
	for name, raw := range map[string]string{"before": before.str("id_token"), "after": after.str("id_token")} {
		if _, err := verifier.Verify(ctx, raw); err != nil {
			t.Errorf("ID token issued %s the rotation: %v", name, err)
		}
	}
	if ui := e.get("/userinfo", bearer(before.str("access_token"))); ui.Status != 200 {
		t.Errorf("/userinfo with an access token of the old key: %d %s", ui.Status, ui.Body)
	}
}

// Three replicas on one database: a rotation through one reaches the one
// that reloads often within its interval; the one that reloads every hour
// still accepts the new key's tokens at once, because an unknown kid makes
// it reload.
func TestKeys_RotationThroughOneReplicaReachesTheOthers(t *testing.T) {
	a := newEnv(t, envOptions{keyReload: time.Hour})
	b := replica(t, a, envOptions{keyReload: 100 * time.Millisecond})
	c := replica(t, a, envOptions{keyReload: time.Hour})
	old := b.login(webClientID, "bob@example.com", "openid email")
	_, oldKID := jwtHeader(t, old.str("access_token"))

	next, replaced, err := a.App.Keys.Rotate(context.Background(), "RS256", oldKID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if replaced.KID != oldKID {
		t.Fatalf("rotation replaced %s, want %s", replaced.KID, oldKID)
	}
	// The replica that rotated publishes the new key at once, and goes on
	// signing with the old one until every replica can have it.
	if kids := kidsOf(a.jwks()); !slices.Contains(kids, next.KID) {
		t.Fatalf("replica a's JWKS after its own rotation = %q, without the new key", kids)
	}
	if _, kid := jwtHeader(t, a.login(webClientID, "bob@example.com", "openid email").str("access_token")); kid != oldKID {
		t.Fatalf("replica a signs with %s right after its own rotation, want the old key %s", kid, oldKID)
	}

	took := waitFor(t, "replica b publishes the new key", func() bool { return slices.Contains(kidsOf(b.jwks()), next.KID) })
	t.Logf("replica b published the new key %v after the rotation (reload every 100 ms)", took)
	time.Sleep(token.Activation(100*time.Millisecond) + 100*time.Millisecond)
	fresh := b.login(webClientID, "bob@example.com", "openid email")
	if _, kid := jwtHeader(t, fresh.str("access_token")); kid != next.KID {
		t.Errorf("replica b signs with %s after the activation, want %s", kid, next.KID)
	}

	if kids := kidsOf(c.jwks()); slices.Contains(kids, next.KID) {
		t.Fatalf("replica c (reload every hour) already publishes the new key: the test proves nothing")
	}
	if ui := c.get("/userinfo", bearer(fresh.str("access_token"))); ui.Status != 200 {
		t.Fatalf("replica c refuses a token of the new key: %d %s", ui.Status, ui.Body)
	}
	set := c.jwks()
	if kids := kidsOf(set); !slices.Equal(kids, []string{next.KID, oldKID}) {
		t.Errorf("replica c's JWKS after meeting the new kid = %q, want %q", kids, []string{next.KID, oldKID})
	}
	for name, raw := range map[string]string{"old": old.str("id_token"), "new": fresh.str("id_token")} {
		if err := verifyAgainstJWKS(t, set, raw); err != nil {
			t.Errorf("%s ID token against replica c's JWKS: %v", name, err)
		}
	}
}

// An API with signing_alg ES256 gets ES256 access tokens that a resource
// server verifies with go-oidc (which takes the algorithms from discovery)
// and with go-jose against the JWKS; a client with jwt_configuration.alg
// ES256 gets ES256 ID tokens; HS256 is signed RS256.
func TestKeys_ES256(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := oidc.ClientContext(context.Background(), e.HTTP)
	provider, err := oidc.NewProvider(ctx, e.URL)
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := provider.Claims(&disc); err != nil || !slices.Equal(disc.Algs, []string{"RS256", "ES256"}) {
		t.Errorf("discovery id_token_signing_alg_values_supported = %q, %v", disc.Algs, err)
	}

	// An RS256 client asking for the ES256 API.
	web := e.login(webClientID, "carol@example.com", "openid email read:things", "audience", esAudience)
	if alg, _ := jwtHeader(t, web.str("access_token")); alg != "ES256" {
		t.Errorf("access token for an ES256 API is %s", alg)
	}
	if alg, _ := jwtHeader(t, web.str("id_token")); alg != "RS256" {
		t.Errorf("ID token of an RS256 client is %s", alg)
	}
	at, err := provider.Verifier(&oidc.Config{ClientID: esAudience}).Verify(ctx, web.str("access_token"))
	if err != nil {
		t.Fatalf("ES256 access token with go-oidc: %v", err)
	}
	var claims struct{ Scope string }
	if err := at.Claims(&claims); err != nil || !strings.Contains(claims.Scope, "read:things") {
		t.Errorf("access token scope = %q, %v", claims.Scope, err)
	}
	set := e.jwks()
	if err := verifyAgainstJWKS(t, set, web.str("access_token")); err != nil {
		t.Errorf("ES256 access token with go-jose against the JWKS: %v", err)
	}
	var ec, rsa int
	for _, k := range set.Keys {
		switch k.Algorithm {
		case "ES256":
			ec++
		case "RS256":
			rsa++
		}
	}
	if ec != 1 || rsa != 1 {
		t.Errorf("JWKS holds %d ES256 and %d RS256 keys, want one of each", ec, rsa)
	}
	// With openid, the ES256 token is good for /userinfo too.
	if ui := e.get("/userinfo", bearer(web.str("access_token"))); ui.Status != 200 || ui.str("email") != "carol@example.com" {
		t.Errorf("/userinfo with an ES256 access token: %d %s", ui.Status, ui.Body)
	}

	// A client with jwt_configuration.alg ES256.
	es := e.login(esClientID, "dave@example.com", "openid email")
	if alg, _ := jwtHeader(t, es.str("id_token")); alg != "ES256" {
		t.Errorf("ID token of an ES256 client is %s", alg)
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: esClientID}).Verify(ctx, es.str("id_token")); err != nil {
		t.Errorf("ES256 ID token with go-oidc: %v", err)
	}
	// Without an audience, the access token is RS256.
	if alg, _ := jwtHeader(t, es.str("access_token")); alg != "RS256" {
		t.Errorf("access token without an audience is %s", alg)
	}

	// HS256 is accepted in the tenant and signed RS256.
	hs := e.login(webClientID, "erin@example.com", "openid", "audience", hsAudience)
	if alg, _ := jwtHeader(t, hs.str("access_token")); alg != "RS256" {
		t.Errorf("access token for an HS256 API is %s, want RS256", alg)
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: hsAudience}).Verify(ctx, hs.str("access_token")); err != nil {
		t.Errorf("access token for an HS256 API with go-oidc: %v", err)
	}
}

// Two replicas with scheduled rotation on one clock: when the key comes
// due, one rotation happens, both sign with its key, and tokens of the old
// key still verify against either JWKS.
func TestKeys_ScheduledRotationOnTwoReplicasRotatesOnce(t *testing.T) {
	clock := clocktest.New(time.Now())
	opts := envOptions{clockAt: clock, keyReload: 50 * time.Millisecond, keyRotation: 24 * time.Hour}
	a := newEnv(t, opts)
	b := replica(t, a, opts)
	old := a.login(webClientID, "frank@example.com", "openid email")
	_, oldKID := jwtHeader(t, old.str("id_token"))

	// Ten reloads of each replica at the same hour rotate nothing.
	time.Sleep(500 * time.Millisecond)
	if kid := currentKID(t, a.Database, "RS256"); kid != oldKID {
		t.Fatalf("a key younger than --key-rotation-interval was rotated: %s -> %s", oldKID, kid)
	}

	clock.Advance(24 * time.Hour)
	var newKID string
	waitFor(t, "a scheduled rotation", func() bool {
		newKID = currentKID(t, a.Database, "RS256")
		return newKID != oldKID
	})
	// Let both replicas run several more checks: a second rotation would
	// show now.
	time.Sleep(500 * time.Millisecond)
	st, err := app.OpenStore(context.Background(), app.Config{Database: a.Database})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := st.SigningKeys(context.Background(), clock.Now())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	var replaced store.SigningKey
	for _, k := range keys {
		kids = append(kids, k.KID)
		if k.KID == oldKID {
			replaced = k
		}
	}
	if !slices.Equal(kids, []string{newKID, oldKID}) {
		t.Fatalf("after the key came due on two replicas the database holds %q, want one new key and the old one", kids)
	}
	// The tenant's longest token: an access token without audience, a day.
	if got, want := replaced.PublishedUntil.Sub(replaced.RotatedAt), 24*time.Hour+3*50*time.Millisecond+5*time.Minute; got != want {
		t.Errorf("the old key stays published %v after the rotation, want %v", got, want)
	}
	// The new key signs once it has been published for two reloads.
	clock.Advance(token.Activation(50 * time.Millisecond))
	time.Sleep(200 * time.Millisecond)
	for name, e := range map[string]*env{"a": a, "b": b} {
		waitFor(t, "replica "+name+" publishes the new key", func() bool { return slices.Contains(kidsOf(e.jwks()), newKID) })
		if err := verifyAgainstJWKS(t, e.jwks(), old.str("id_token")); err != nil {
			t.Errorf("a token of the old key against replica %s's JWKS: %v", name, err)
		}
		tok := e.login(webClientID, "frank@example.com", "openid")
		if _, kid := jwtHeader(t, tok.str("id_token")); kid != newKID {
			t.Errorf("replica %s signs with %s, want %s", name, kid, newKID)
		}
	}
}
