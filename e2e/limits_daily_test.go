package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/store"
)

// Beside the 15-minute cap, a daily one: an address cannot be sent more
// than its day's worth of messages, however the starts are spread, and
// whatever the spelling (+tags share the mailbox's bucket).
func TestLimits_RecipientDailyCap(t *testing.T) {
	e := newEnv(t, envOptions{clock: true, trustedProxies: loopback, limits: realLimits(func(l *ratelimit.Settings) {
		l.RecipientPerDay = store.Limit{Burst: 4, Per: 24 * time.Hour}
	})})
	for i := range 4 {
		// 15 minutes apart: the 15-minute cap never trips.
		if r := e.startAs(nativeClientID, "", "email", []string{"daily@example.com", "daily+1@example.com"}[i%2], xff(fmt.Sprint("198.51.100.", i))); r.Status != 200 {
			t.Fatalf("start %d: %d %s", i+1, r.Status, r.Body)
		}
		e.SMTP.Wait(t, i+1, 10*time.Second)
		e.Clock.Advance(15 * time.Minute)
	}
	r := e.startAs(nativeClientID, "", "email", "daily+2@example.com", xff("198.51.100.9"))
	wantError(t, r, http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)
	if r.Header.Get("X-RateLimit-Limit") != "4" {
		t.Errorf("the refusal names limit %q, want the daily 4", r.Header.Get("X-RateLimit-Limit"))
	}
	// The hosted page shares the bucket.
	b := e.pageBrowser()
	_, challenge := pkce()
	p := b.follow(b.get(authorizeURL(map[string]string{"client_id": nativeClientID, "redirect_uri": nativeCallback,
		"code_challenge": challenge, "code_challenge_method": "S256", "connection": "email"})))
	action, vals := form(t, p, "/login/identifier")
	vals.Set("identifier", "daily@example.com")
	if p := b.post(action, vals); p.Status != http.StatusTooManyRequests {
		t.Errorf("the page past the daily cap: %d", p.Status)
	}
	// Six hours later one message's worth has come back.
	e.Clock.Advance(6 * time.Hour)
	if r := e.startAs(nativeClientID, "", "email", "daily@example.com", xff("198.51.100.10")); r.Status != 200 {
		t.Errorf("six hours later: %d %s", r.Status, r.Body)
	}
	if n := len(e.SMTP.Wait(t, 5, 10*time.Second)); n != 5 {
		t.Errorf("%d messages, want 5", n)
	}
}

// The authorization_code and refresh_token grants and /oauth/revoke share
// one bucket per address; failures count.
func TestLimits_TokenGrantsAndRevokePerIP(t *testing.T) {
	e := newEnv(t, envOptions{trustedProxies: loopback, limits: realLimits(func(l *ratelimit.Settings) {
		l.TokenPerIP = store.Limit{Burst: 3, Per: time.Hour}
	})})
	grant := func(ip string, form url.Values) response {
		return e.postForm("/oauth/token", form, xff(ip))
	}
	bad := url.Values{"grant_type": {"refresh_token"}, "client_id": {nativeClientID}, "refresh_token": {"nope"}}
	code := url.Values{"grant_type": {"authorization_code"}, "client_id": {nativeClientID}, "code": {"nope"},
		"redirect_uri": {nativeCallback}, "code_verifier": {"v"}}
	if r := grant("198.51.100.1", bad); r.Status != 403 {
		t.Fatalf("bad refresh token: %d %s", r.Status, r.Body)
	}
	if r := grant("198.51.100.1", code); r.Status != 403 {
		t.Fatalf("bad code: %d %s", r.Status, r.Body)
	}
	if r := e.postForm("/oauth/revoke", url.Values{"client_id": {nativeClientID}, "token": {"nope"}}, xff("198.51.100.1")); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	r := grant("198.51.100.1", bad)
	wantError(t, r, http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)
	if r := e.postForm("/oauth/revoke", url.Values{"client_id": {nativeClientID}, "token": {"nope"}}, xff("198.51.100.1")); r.Status != http.StatusTooManyRequests {
		t.Errorf("revoke past the limit: %d", r.Status)
	}
	if r := grant("198.51.100.2", bad); r.Status != 403 {
		t.Errorf("another address: %d %s", r.Status, r.Body)
	}
	// The passwordless grant has its own bucket (--limit-verify-ip).
	otp := url.Values{"grant_type": {"http://auth0.com/oauth/grant-type/passwordless/otp"}, "client_id": {nativeClientID},
		"username": {"x@example.com"}, "otp": {"000000"}, "realm": {"email"}}
	if r := grant("198.51.100.1", otp); r.Status == http.StatusTooManyRequests {
		t.Errorf("the OTP grant shares the token bucket: %s", r.Body)
	}
}
