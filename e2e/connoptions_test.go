package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// Connection options honoured on every login path: disable_signup and
// brute_force_protection.

// retenant imports the test tenant with edit applied to its file, as an
// operator's import (or another replica's start) would, and has the server
// serve it at once rather than at its next reload.
func (e *env) retenant(edit func(string) string) {
	e.t.Helper()
	raw, err := os.ReadFile(e.Tenant)
	if err != nil {
		e.t.Fatal(err)
	}
	edited := edit(string(raw))
	if edited == string(raw) {
		e.t.Fatal("retenant: the edit changed nothing")
	}
	file := filepath.Join(e.t.TempDir(), "tenant.yaml")
	if err := os.WriteFile(file, []byte(edited), 0o600); err != nil {
		e.t.Fatal(err)
	}
	f, _, err := tenant.LoadFile(file, os.Getenv)
	if err != nil {
		e.t.Fatalf("retenant: %v", err)
	}
	ctx := context.Background()
	if _, err := tenant.Import(ctx, e.App.Store, f, time.Now()); err != nil {
		e.t.Fatalf("retenant: import: %v", err)
	}
	if changed, err := e.App.Tenant.Reload(ctx); err != nil || !changed {
		e.t.Fatalf("retenant: reload: changed %v, %v", changed, err)
	}
}

// TestDisableSignup_EveryLoginPathRefusesAnUnknownUser: a code sent while
// the connection took signups is refused, once disable_signup is on, on
// every path that logs in (the OTP grant, a magic link, the hosted page,
// /co/authenticate), with Auth0's "Public signup is disabled"; no user is
// made. A user who already exists still logs in.
func TestDisableSignup_EveryLoginPathRefusesAnUnknownUser(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	const (
		otpUser    = "new-otp@example.com"
		linkUser   = "new-link@example.com"
		pageUser   = "new-page@example.com"
		coUser     = "new-co@example.com"
		memberUser = "member@example.com"
	)
	member := e.startCode(nativeClientID, memberUser)
	if r := e.otp(nativeClientID, memberUser, member, "openid"); r.Status != 200 {
		t.Fatalf("member's first login: %d %s", r.Status, r.Body)
	}

	otpCode := e.startCode(nativeClientID, otpUser)
	link := e.startLink(linkBody(webClientID, linkUser, map[string]any{"state": "s-link"}))
	coCode := e.startCode(coClientID, coUser)

	b := e.pageBrowser()
	_, challenge := pkce()
	p := b.follow(b.get(authorizeURL(map[string]string{"client_id": nativeClientID, "redirect_uri": "com.example.native://callback",
		"code_challenge": challenge, "code_challenge_method": "S256", "connection": "email"})))
	action, vals := form(t, p, "/login/identifier")
	vals.Set("identifier", pageUser)
	before := len(e.SMTP.Messages())
	p = b.follow(b.post(action, vals))
	msgs := e.SMTP.Wait(t, before+1, 10*time.Second)
	pageCode := codeFrom(t, msgs[len(msgs)-1])
	codeAction, codeVals := form(t, p, "/login/code")

	e.retenant(func(y string) string {
		return strings.Replace(y, "    options:\n      totp: {length: 6, time_step: 180}\n      email:",
			"    options:\n      disable_signup: true\n      totp: {length: 6, time_step: 180}\n      email:", 1)
	})

	wantError(t, e.otp(nativeClientID, otpUser, otpCode, "openid"), 403, "access_denied", passwordless.DescSignupDisabled)

	c := e.browser()
	wantDenied(t, submit(t, c, openLink(t, c, e, link)), webCallback+"?", false, "s-link", passwordless.DescSignupDisabled)

	codeVals.Set("code", pageCode)
	p = b.post(codeAction, codeVals)
	if p.Status != http.StatusForbidden || p.Location != "" || !strings.Contains(p.Body, "take new accounts") {
		t.Errorf("hosted page: %d %q, want 403 saying the application takes no new accounts:\n%s", p.Status, p.Location, p.Body)
	}

	co := e.postJSON("/co/authenticate", coBody(coClientID, coUser, coCode), withOrigin(coOrigin))
	wantError(t, co, 403, "access_denied", passwordless.DescSignupDisabled)

	for _, u := range []string{otpUser, linkUser, pageUser, coUser} {
		if _, err := e.App.Store.UserByIdentifier(ctx, "email", u); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("user %s: %v, want none", u, err)
		}
	}
	// A user who exists still logs in.
	member = e.startCode(nativeClientID, memberUser)
	if r := e.otp(nativeClientID, memberUser, member, "openid"); r.Status != 200 {
		t.Fatalf("an existing user with disable_signup: %d %s", r.Status, r.Body)
	}
}

// TestBruteForce_OffOnEveryPathWhenTheConnectionSaysSo: with
// brute_force_protection false, wrong guesses through /passwordless/verify
// and the OTP grant, from one address, never block: the right code still
// logs in. (TestBruteForce_OffWhenTheConnectionSaysSo covers the OTP grant
// alone.)
func TestBruteForce_OffOnEveryPathWhenTheConnectionSaysSo(t *testing.T) {
	p := passwordless.DefaultProtection()
	p.PairThreshold, p.AccountThreshold, p.IPThreshold = 3, 3, 3
	e := newEnv(t, envOptions{trustedProxies: loopback, protection: &p})
	const user, ip = "unprotected-everywhere@example.com", "198.51.100.41"
	var code string
	for i := range 9 {
		if i%3 == 0 {
			if r := e.startAs(nativeClientID, "", "email-unprotected", user); r.Status != 200 {
				t.Fatalf("start: %d %s", r.Status, r.Body)
			}
			code = codeFrom(t, e.SMTP.Wait(t, i/3+1, 10*time.Second)[i/3])
		}
		if i%2 == 0 {
			r := e.postJSON("/passwordless/verify", map[string]any{"client_id": nativeClientID, "connection": "email-unprotected",
				"email": user, "verification_code": wrongCode(code)}, xff(ip))
			wantError(t, r, 401, "invalid_user_password", descWrongEmail)
		} else {
			wantError(t, e.guess("email-unprotected", user, wrongCode(code), xff(ip)), 403, "invalid_grant", descWrongEmail)
		}
	}
	if r := e.startAs(nativeClientID, "", "email-unprotected", user); r.Status != 200 {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	code = codeFrom(t, e.SMTP.Wait(t, 4, 10*time.Second)[3])
	r := e.postJSON("/passwordless/verify", map[string]any{"client_id": nativeClientID, "connection": "email-unprotected",
		"email": user, "verification_code": code}, xff(ip))
	if r.Status != 200 {
		t.Fatalf("verify after nine wrong guesses: %d %s", r.Status, r.Body)
	}
	if r := e.guess("email-unprotected", user, code, xff(ip)); r.Status != 200 {
		t.Fatalf("login after nine wrong guesses: %d %s", r.Status, r.Body)
	}
	if ev := e.events("limit_wc"); len(ev) != 0 {
		t.Errorf("limit_wc events on an unprotected connection: %+v", ev)
	}

	// The same guesses on a protected connection block at the threshold.
	if r := e.startAs(nativeClientID, "", "email", user); r.Status != 200 {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	code = codeFrom(t, e.SMTP.Wait(t, 5, 10*time.Second)[4])
	for range 3 {
		wantError(t, e.guess("email", user, wrongCode(code), xff(ip)), 403, "invalid_grant", descWrongEmail)
	}
	wantError(t, e.guess("email", user, code, xff(ip)), http.StatusTooManyRequests, "too_many_attempts", passwordless.DescBlocked)
}
