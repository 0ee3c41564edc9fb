package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/sesame-id/sesame/internal/app"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/store"
)

// The answers of spec §6.2 and §6.4.
const (
	descTooManyRequests = "Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers."
	descWrongEmail      = "Wrong email or verification code."
)

// loopback is the test's TCP peer, trusted as a proxy in the tests that
// need many client addresses: X-Forwarded-For then names the caller.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// xff makes a request come from ip through the trusted loopback proxy.
func xff(ip string) func(*http.Request) { return header("X-Forwarded-For", ip) }

// realLimits are the server's default limits with some replaced.
func realLimits(mod func(*ratelimit.Settings)) *ratelimit.Settings {
	l := ratelimit.Defaults()
	if mod != nil {
		mod(&l)
	}
	return &l
}

// start asks for a code by email.
func (e *env) startAs(clientID, secret, connection, email string, mods ...func(*http.Request)) response {
	e.t.Helper()
	body := map[string]any{"client_id": clientID, "connection": connection, "email": email, "send": "code"}
	if secret != "" {
		body["client_secret"] = secret
	}
	return e.postJSON("/passwordless/start", body, mods...)
}

// guess presents code for email at /oauth/token through the public native
// client.
func (e *env) guess(connection, email, code string, mods ...func(*http.Request)) response {
	e.t.Helper()
	return e.postForm("/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/passwordless/otp"},
		"client_id":  {nativeClientID}, "username": {email}, "otp": {code}, "realm": {connection}, "scope": {"openid"},
	}, mods...)
}

// wantRateLimitHeaders checks the three headers of spec §6.2.
func wantRateLimitHeaders(t *testing.T, r response, limit, remaining int, now time.Time, refill time.Duration) {
	t.Helper()
	if got := r.Header.Get("X-RateLimit-Limit"); got != strconv.Itoa(limit) {
		t.Errorf("X-RateLimit-Limit = %q, want %d", got, limit)
	}
	if got := r.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(remaining) {
		t.Errorf("X-RateLimit-Remaining = %q, want %d", got, remaining)
	}
	reset, err := strconv.ParseInt(r.Header.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		t.Fatalf("X-RateLimit-Reset = %q, want epoch seconds", r.Header.Get("X-RateLimit-Reset"))
	}
	// The bucket is full again once the tokens taken are back.
	if at := time.Unix(reset, 0); at.Before(now.Add(-time.Second)) || at.After(now.Add(refill+2*time.Second)) {
		t.Errorf("X-RateLimit-Reset = %v, want within %v of %v", at, refill, now)
	}
}

// events returns the tenant log events of type typ, newest first.
func (e *env) events(typ string) []store.Event {
	e.t.Helper()
	if err := e.App.Events.Flush(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	page, err := e.App.Store.Events(context.Background(), store.EventQuery{Types: []string{typ}})
	if err != nil {
		e.t.Fatal(err)
	}
	return page.Events
}

func TestLimits_The51stStartFromOneIPIsRefusedWithTheHeaders(t *testing.T) {
	e := newEnv(t, envOptions{limits: realLimits(nil)})
	now := time.Now()
	for i := range 50 {
		r := e.startAs(webClientID, webSecret, "closed", fmt.Sprintf("user%d@example.com", i))
		if r.Status != http.StatusOK {
			t.Fatalf("start %d: %d %s", i+1, r.Status, r.Body)
		}
		wantRateLimitHeaders(t, r, 50, 49-i, now, time.Duration(i+1)*72*time.Second)
	}
	for _, email := range []string{"stranger@example.com", "user1@example.com"} {
		r := e.startAs(webClientID, webSecret, "closed", email)
		wantError(t, r, http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)
		wantRateLimitHeaders(t, r, 50, 0, now, time.Hour)
	}
	// Another client from the same address shares the bucket.
	wantError(t, e.startAs(nativeClientID, "", "email", "x@example.com"), http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)
	if ev := e.events("api_limit"); len(ev) != 3 || ev[0].IP != "127.0.0.1" || ev[0].ClientID != nativeClientID {
		t.Errorf("api_limit events = %+v, want 3 for 127.0.0.1", ev)
	}
	if n := len(e.SMTP.Messages()); n != 0 {
		t.Errorf("%d messages sent on a closed connection to unknown addresses", n)
	}
}

func TestLimits_AuthForwardedForIsHonouredOnlyWhenSpecAllows(t *testing.T) {
	type call struct {
		client, secret string
		status         int
	}
	for _, c := range []struct {
		name      string
		call      call
		honoured  bool
		connction string
	}{
		{"public client", call{nativeClientID, "", 200}, false, "email"},
		{"confidential without its secret", call{backendClientID, "", 401}, false, "email"},
		{"confidential with a wrong secret", call{backendClientID, "wrong-" + backendSecret, 401}, false, "email"},
		{"confidential without the trusted flag", call{webClientID, webSecret, 200}, false, "email"},
		{"confidential, secret and trusted flag", call{backendClientID, backendSecret, 200}, true, "email"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOptions{limits: realLimits(func(l *ratelimit.Settings) {
				l.StartPerIP = store.Limit{Burst: 1, Per: time.Hour}
			})})
			first := e.startAs(c.call.client, c.call.secret, c.connction, "a@example.com", header("Auth0-Forwarded-For", "198.51.100.1"))
			if first.Status != c.call.status {
				t.Fatalf("first start: %d %s, want %d", first.Status, first.Body, c.call.status)
			}
			second := e.startAs(c.call.client, c.call.secret, c.connction, "b@example.com", header("Auth0-Forwarded-For", "198.51.100.2"))
			if c.honoured {
				if second.Status != c.call.status {
					t.Fatalf("second start from another end-user address: %d %s, want %d", second.Status, second.Body, c.call.status)
				}
				// The same end user again is over its own limit...
				third := e.startAs(c.call.client, c.call.secret, c.connction, "c@example.com", header("Auth0-Forwarded-For", "198.51.100.1"))
				wantError(t, third, http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)
				if ev := e.events("api_limit"); len(ev) != 1 || ev[0].IP != "198.51.100.1" {
					t.Errorf("api_limit events = %+v, want one for the end user's address", ev)
				}
				// ... while the proxy's own address was never counted, and a
				// malformed header counts against the proxy, never fails.
				for i, v := range []string{"not-an-address", "198.51.100.7, 198.51.100.8"} {
					r := e.startAs(c.call.client, c.call.secret, c.connction, "d@example.com", header("Auth0-Forwarded-For", v))
					if want := []int{200, 429}[i]; r.Status != want {
						t.Errorf("start with auth0-forwarded-for %q: %d %s, want %d", v, r.Status, r.Body, want)
					}
				}
				return
			}
			wantError(t, second, http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)
			if ev := e.events("api_limit"); len(ev) != 1 || ev[0].IP != "127.0.0.1" {
				t.Errorf("api_limit events = %+v, want one for the caller's address", ev)
			}
		})
	}
}

func TestLimits_ForwardedForOnTheTokenEndpointCountsTheEndUser(t *testing.T) {
	e := newEnv(t, envOptions{})
	const email = "backend-user@example.com"
	body := func(otp string) url.Values {
		return url.Values{"grant_type": {"http://auth0.com/oauth/grant-type/passwordless/otp"}, "client_id": {backendClientID},
			"client_secret": {backendSecret}, "username": {email}, "otp": {otp}, "realm": {"email"}}
	}
	newCode := func(n int) string {
		t.Helper()
		if r := e.startAs(backendClientID, backendSecret, "email", email); r.Status != 200 {
			t.Fatalf("start: %d %s", r.Status, r.Body)
		}
		return codeFrom(t, e.SMTP.Wait(t, n, 10*time.Second)[n-1])
	}
	// Ten failures, each from another end user by the trusted header. Were
	// the header ignored, they would all be the backend's address, and the
	// tenth would block it.
	code := newCode(1)
	for i := range 10 {
		if i > 0 && i%passwordless.MaxTries == 0 {
			code = newCode(1 + i/passwordless.MaxTries)
		}
		r := e.postForm("/oauth/token", body(wrongCode(code)), header("Auth0-Forwarded-For", fmt.Sprint("203.0.113.", i)))
		wantError(t, r, http.StatusForbidden, "invalid_grant", descWrongEmail)
	}
	if r := e.postForm("/oauth/token", body(code), header("Auth0-Forwarded-For", "203.0.113.200")); r.Status != 200 {
		t.Fatalf("login through the backend after failures of other end users: %d %s", r.Status, r.Body)
	}
	// A public client's header is ignored: ten failures from it block the
	// caller's own address.
	const user2 = "public-user@example.com"
	for i := range 10 {
		if i%passwordless.MaxTries == 0 {
			code = e.startCode(nativeClientID, user2)
		}
		wantError(t, e.guess("email", user2, wrongCode(code), header("Auth0-Forwarded-For", fmt.Sprint("203.0.113.", i))),
			http.StatusForbidden, "invalid_grant", descWrongEmail)
	}
	code = e.startCode(nativeClientID, user2)
	wantError(t, e.guess("email", user2, code, header("Auth0-Forwarded-For", "203.0.113.201")),
		http.StatusTooManyRequests, "too_many_attempts", passwordless.DescBlocked)
}

func TestLimits_SpoofedXForwardedForChangesNothingWithoutATrustedProxy(t *testing.T) {
	e := newEnv(t, envOptions{limits: realLimits(func(l *ratelimit.Settings) {
		l.StartPerIP = store.Limit{Burst: 1, Per: time.Hour}
	})})
	if r := e.startAs(nativeClientID, "", "email", "a@example.com", xff("198.51.100.1")); r.Status != 200 {
		t.Fatalf("first start: %d %s", r.Status, r.Body)
	}
	r := e.startAs(nativeClientID, "", "email", "a@example.com", xff("198.51.100.2"))
	wantError(t, r, http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)
	if ev := e.events("api_limit"); len(ev) != 1 || ev[0].IP != "127.0.0.1" {
		t.Errorf("api_limit events = %+v, want one for the TCP peer", ev)
	}
}

func TestLimits_BehindATrustedProxyTheRightMostUntrustedAddressCounts(t *testing.T) {
	e := newEnv(t, envOptions{trustedProxies: append(loopback, netip.MustParsePrefix("10.0.0.0/8")), limits: realLimits(func(l *ratelimit.Settings) {
		l.StartPerIP = store.Limit{Burst: 1, Per: time.Hour}
	})})
	for i, c := range []struct {
		xff    string
		status int
	}{
		{"1.1.1.1, 203.0.113.5", 200},           // counts 203.0.113.5: what the client claims is ignored
		{"9.9.9.9, 203.0.113.5", 429},           // the same caller, another claim
		{"203.0.113.5, 198.51.100.9", 200},      // the right-most untrusted is another caller
		{"203.0.113.7, 10.1.2.3", 200},          // a trusted hop is skipped
		{"8.8.8.8,203.0.113.7 , 10.9.9.9", 429}, // ... to the same caller
		{"garbage, 203.0.113.8", 200},           // a malformed hop left of the caller is never reached
		{"203.0.113.8, garbage", 200},           // a malformed right-most hop: the proxy stands
		{"", 429},                               // no header: the proxy itself, counted already
	} {
		var mods []func(*http.Request)
		if c.xff != "" {
			mods = append(mods, xff(c.xff))
		}
		r := e.startAs(nativeClientID, "", "email", "a@example.com", mods...)
		if r.Status != c.status {
			t.Errorf("%d: start with X-Forwarded-For %q: %d %s, want %d", i, c.xff, r.Status, r.Body, c.status)
		}
	}
	var ips []string
	for _, ev := range e.events("api_limit") {
		ips = append(ips, ev.IP)
	}
	if strings.Join(ips, " ") != "127.0.0.1 203.0.113.7 203.0.113.5" {
		t.Errorf("api_limit events for %q", ips)
	}
}

func TestLimits_PerRecipientCap(t *testing.T) {
	e := newEnv(t, envOptions{clock: true, limits: realLimits(nil)})
	for i := range 5 {
		// Spelled differently each time: it is one recipient.
		r := e.startAs(nativeClientID, "", "email", []string{"victim@example.com", "Victim@Example.com", " VICTIM@example.com"}[i%3], xff(fmt.Sprint("198.51.100.", i)))
		if r.Status != 200 {
			t.Fatalf("start %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	e.SMTP.Wait(t, 5, 10*time.Second)
	now := e.Clock.Now()
	r := e.startAs(nativeClientID, "", "email", "victim@example.com")
	wantError(t, r, http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)
	wantRateLimitHeaders(t, r, 5, 0, now, 15*time.Minute)
	// Another recipient, and the same address on another connection, are
	// not limited.
	if r := e.startAs(nativeClientID, "", "email", "someone-else@example.com"); r.Status != 200 {
		t.Errorf("start for another address: %d %s", r.Status, r.Body)
	}
	if r := e.startAs(nativeClientID, "", "email-unprotected", "victim@example.com"); r.Status != 200 {
		t.Errorf("start on another connection: %d %s", r.Status, r.Body)
	}
	e.SMTP.Wait(t, 7, 10*time.Second) // delivered before the codes expire
	// One message comes back every three minutes.
	e.Clock.Advance(3 * time.Minute)
	if r := e.startAs(nativeClientID, "", "email", "victim@example.com"); r.Status != 200 {
		t.Errorf("start three minutes later: %d %s", r.Status, r.Body)
	}
	wantError(t, e.startAs(nativeClientID, "", "email", "victim@example.com"), http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)
	e.SMTP.Wait(t, 8, 10*time.Second)
	time.Sleep(200 * time.Millisecond) // a refused start must not deliver late either
	if n := len(e.SMTP.Messages()); n != 8 {
		t.Errorf("%d messages delivered, want 5 + 1 + 1 + 1", n)
	}
}

// failFrom makes n wrong guesses for email from ip, asking for a fresh code
// whenever the live one has no tries left, and checks each is a plain wrong
// code. It returns the live code.
func (e *env) failFrom(email, ip string, n int) string {
	e.t.Helper()
	var code string
	for i := range n {
		if i%passwordless.MaxTries == 0 {
			code = e.startCode(nativeClientID, email)
		}
		wantError(e.t, e.guess("email", email, wrongCode(code), xff(ip)), http.StatusForbidden, "invalid_grant", descWrongEmail)
	}
	return code
}

func TestBruteForce_PairBlockAndItsExpiry(t *testing.T) {
	e := newEnv(t, envOptions{clock: true, trustedProxies: loopback})
	const victim, attacker, other = "pair@example.com", "198.51.100.66", "203.0.113.10"
	e.failFrom(victim, attacker, 9)
	code := e.startCode(nativeClientID, victim)
	wantError(t, e.guess("email", victim, wrongCode(code), xff(attacker)), http.StatusForbidden, "invalid_grant", descWrongEmail)
	// The tenth failure blocked the pair: even the right code is refused,
	// and the refusal uses none of the code's tries.
	for range 5 {
		wantError(t, e.guess("email", victim, code, xff(attacker)), http.StatusTooManyRequests, "too_many_attempts", passwordless.DescBlocked)
	}
	// /passwordless/verify answers the block too.
	r := e.postJSON("/passwordless/verify", map[string]any{"client_id": nativeClientID, "connection": "email",
		"email": victim, "verification_code": code, "grant_type": "http://auth0.com/oauth/grant-type/passwordless/otp"}, xff(attacker))
	wantError(t, r, http.StatusTooManyRequests, "too_many_attempts", passwordless.DescBlocked)
	if ev := e.events("limit_wc"); len(ev) != 1 || ev[0].IP != attacker || ev[0].Identifier != victim {
		t.Errorf("limit_wc events = %+v", ev)
	}
	// Another address is not blocked, and the code still had two tries.
	wantError(t, e.guess("email", victim, wrongCode(code), xff(other)), http.StatusForbidden, "invalid_grant", descWrongEmail)
	if r := e.guess("email", victim, code, xff(other)); r.Status != 200 {
		t.Fatalf("login from another address: %d %s", r.Status, r.Body)
	}
	// An hour later the block is over.
	e.Clock.Advance(time.Hour)
	code = e.startCode(nativeClientID, victim)
	if r := e.guess("email", victim, code, xff(attacker)); r.Status != 200 {
		t.Fatalf("login after the block ended: %d %s", r.Status, r.Body)
	}
}

func TestBruteForce_ASuccessResetsThePairCounter(t *testing.T) {
	e := newEnv(t, envOptions{clock: true, trustedProxies: loopback})
	const user, ip = "clumsy@example.com", "198.51.100.5"
	for range 3 {
		e.failFrom(user, ip, 9)
		if r := e.guess("email", user, e.startCode(nativeClientID, user), xff(ip)); r.Status != 200 {
			t.Fatalf("login after 9 failures: %d %s", r.Status, r.Body)
		}
	}
	// 27 failures in all from one address, never ten in a row: no block.
	if b, err := e.App.Store.Blocks(context.Background(), e.Clock.Now()); err != nil || len(b) != 0 {
		t.Errorf("blocks = %+v, %v; want none", b, err)
	}
}

func TestBruteForce_AccountLockoutAcrossAddressesAndItsExpiry(t *testing.T) {
	e := newEnv(t, envOptions{clock: true, trustedProxies: loopback})
	const victim = "locked@example.com"
	// Thirty failures, from thirty addresses, one every ten minutes.
	for i := range 30 {
		code := e.startCode(nativeClientID, victim)
		wantError(t, e.guess("email", victim, wrongCode(code), xff(fmt.Sprint("198.51.100.", i))), http.StatusForbidden, "invalid_grant", descWrongEmail)
		e.Clock.Advance(10 * time.Minute)
	}
	code := e.startCode(nativeClientID, victim)
	wantError(t, e.guess("email", victim, code, xff("203.0.113.99")), http.StatusTooManyRequests, "too_many_attempts", passwordless.DescBlocked)
	if ev := e.events("limit_wc"); len(ev) != 1 || ev[0].IP != "198.51.100.29" {
		t.Errorf("limit_wc events = %+v, want one, from the address of the 30th failure", ev)
	}
	// Other identifiers are not affected.
	other := e.startCode(nativeClientID, "bystander@example.com")
	if r := e.guess("email", "bystander@example.com", other, xff("203.0.113.99")); r.Status != 200 {
		t.Fatalf("another user: %d %s", r.Status, r.Body)
	}

	// sesame blocks list shows the lockout; the lockout lasts until the
	// first failure is a day old.
	var out bytes.Buffer
	cfg := app.Config{Database: e.database()}
	if err := app.Blocks(context.Background(), cfg, []string{"list"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), victim) || !strings.Contains(out.String(), "account lockout") {
		t.Errorf("sesame blocks list:\n%s", out.String())
	}
	first := e.Clock.Now().Add(-300 * time.Minute)
	e.Clock.Advance(24*time.Hour - 300*time.Minute - time.Second) // a second before the first failure leaves the window
	code = e.startCode(nativeClientID, victim)
	wantError(t, e.guess("email", victim, code, xff("203.0.113.98")), http.StatusTooManyRequests, "too_many_attempts", passwordless.DescBlocked)
	e.Clock.Advance(2 * time.Second)
	if !e.Clock.Now().After(first.Add(24 * time.Hour)) {
		t.Fatal("clock arithmetic")
	}
	if r := e.guess("email", victim, code, xff("203.0.113.98")); r.Status != 200 {
		t.Fatalf("login once the window moved on: %d %s", r.Status, r.Body)
	}
}

func TestBruteForce_SesameBlocksClearUnblocksAtOnce(t *testing.T) {
	e := newEnv(t, envOptions{clock: true, trustedProxies: loopback})
	const victim, ip = "cleared@example.com", "198.51.100.1"
	e.failFrom(victim, ip, 10)
	code := e.startCode(nativeClientID, victim)
	wantError(t, e.guess("email", victim, code, xff(ip)), http.StatusTooManyRequests, "too_many_attempts", passwordless.DescBlocked)
	var out bytes.Buffer
	cfg := app.Config{Database: e.database()}
	if err := app.Blocks(context.Background(), cfg, []string{"clear", " Cleared@Example.com"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "cleared 1 block") {
		t.Errorf("sesame blocks clear: %q", out.String())
	}
	if r := e.guess("email", victim, code, xff(ip)); r.Status != 200 {
		t.Fatalf("login after clear: %d %s", r.Status, r.Body)
	}
}

func TestBruteForce_UsedExpiredAndReplacedCodesCountForNothing(t *testing.T) {
	e := newEnv(t, envOptions{clock: true, trustedProxies: loopback})
	const user, ip = "replay@example.com", "198.51.100.3"
	used := e.startCode(nativeClientID, user)
	if r := e.guess("email", user, used, xff(ip)); r.Status != 200 {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	replaced := e.startCode(nativeClientID, user)
	expired := e.startCode(nativeClientID, user)
	e.Clock.Advance(181 * time.Second)
	for range 20 {
		wantError(t, e.guess("email", user, used, xff(ip)), http.StatusForbidden, "invalid_grant", descWrongEmail)
		if replaced != expired {
			wantError(t, e.guess("email", user, replaced, xff(ip)), http.StatusForbidden, "invalid_grant", descWrongEmail)
		}
		wantError(t, e.guess("email", user, expired, xff(ip)), http.StatusForbidden, "invalid_grant", passwordless.DescCodeExpired)
	}
	// A dead code's further tries count for nothing either.
	dead := e.failFrom(user, ip, 3)
	for range 10 {
		wantError(t, e.guess("email", user, wrongCode(dead), xff(ip)), http.StatusForbidden, "invalid_grant", passwordless.DescMaxAttempts)
	}
	if r := e.guess("email", user, e.startCode(nativeClientID, user), xff(ip)); r.Status != 200 {
		t.Fatalf("login after replays: %d %s", r.Status, r.Body)
	}
	if ev := e.events("limit_wc"); len(ev) != 0 {
		t.Errorf("limit_wc events = %+v, want none", ev)
	}
}

func TestBruteForce_OffWhenTheConnectionSaysSo(t *testing.T) {
	e := newEnv(t, envOptions{trustedProxies: loopback})
	const user, ip = "unprotected@example.com", "198.51.100.4"
	var code string
	for i := range 12 {
		if i%3 == 0 {
			r := e.startAs(nativeClientID, "", "email-unprotected", user)
			if r.Status != 200 {
				t.Fatalf("start: %d %s", r.Status, r.Body)
			}
			code = codeFrom(t, e.SMTP.Wait(t, i/3+1, 10*time.Second)[i/3])
		}
		wantError(t, e.guess("email-unprotected", user, wrongCode(code), xff(ip)), http.StatusForbidden, "invalid_grant", descWrongEmail)
	}
	if r := e.startAs(nativeClientID, "", "email-unprotected", user); r.Status != 200 {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	code = codeFrom(t, e.SMTP.Wait(t, 5, 10*time.Second)[4])
	if r := e.guess("email-unprotected", user, code, xff(ip)); r.Status != 200 {
		t.Fatalf("login on a connection without brute-force protection: %d %s", r.Status, r.Body)
	}
}

func TestBruteForce_SuspiciousAddressIsBlockedOnEveryAccount(t *testing.T) {
	p := passwordless.DefaultProtection()
	p.IPThreshold = 6
	e := newEnv(t, envOptions{trustedProxies: loopback, protection: &p})
	const ip = "198.51.100.77"
	for i := range 6 {
		user := fmt.Sprintf("sprayed%d@example.com", i)
		code := e.startCode(nativeClientID, user)
		wantError(t, e.guess("email", user, wrongCode(code), xff(ip)), http.StatusForbidden, "invalid_grant", descWrongEmail)
	}
	code := e.startCode(nativeClientID, "fresh@example.com")
	wantError(t, e.guess("email", "fresh@example.com", code, xff(ip)), http.StatusTooManyRequests, "too_many_attempts", passwordless.DescBlocked)
	if ev := e.events("limit_mu"); len(ev) != 1 || ev[0].IP != ip {
		t.Errorf("limit_mu events = %+v", ev)
	}
	if r := e.guess("email", "fresh@example.com", code, xff("198.51.100.78")); r.Status != 200 {
		t.Fatalf("login from another address: %d %s", r.Status, r.Body)
	}
}

func TestLimits_VerifyAndUserInfo(t *testing.T) {
	e := newEnv(t, envOptions{trustedProxies: loopback, limits: realLimits(func(l *ratelimit.Settings) {
		l.VerifyPerIP = store.Limit{Burst: 3, Per: time.Hour}
		l.UserInfoPerUser = store.Limit{Burst: 2, Per: time.Hour}
	})})
	code := e.startCode(nativeClientID, "limited@example.com")
	for i := range 3 {
		r := e.guess("email", "nobody@example.com", "000000", xff("198.51.100.9"))
		wantError(t, r, http.StatusForbidden, "invalid_grant", descWrongEmail)
		if got := r.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(2-i) {
			t.Errorf("X-RateLimit-Remaining = %q, want %d", got, 2-i)
		}
	}
	wantError(t, e.guess("email", "limited@example.com", code, xff("198.51.100.9")), http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)
	r := e.postJSON("/passwordless/verify", map[string]any{"client_id": nativeClientID, "connection": "email",
		"email": "limited@example.com", "verification_code": code, "grant_type": "http://auth0.com/oauth/grant-type/passwordless/otp"}, xff("198.51.100.9"))
	wantError(t, r, http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)

	tok := e.guess("email", "limited@example.com", code, xff("198.51.100.10"))
	if tok.Status != 200 {
		t.Fatalf("login: %d %s", tok.Status, tok.Body)
	}
	for i := range 3 {
		// Per user, from any address.
		r := e.get("/userinfo", bearer(tok.str("access_token")), xff(fmt.Sprint("203.0.113.", i)))
		if want := []int{200, 200, 429}[i]; r.Status != want {
			t.Errorf("userinfo %d: %d %s, want %d", i+1, r.Status, r.Body, want)
		}
		if r.Header.Get("X-RateLimit-Limit") != "2" {
			t.Errorf("userinfo %d: X-RateLimit-Limit = %q", i+1, r.Header.Get("X-RateLimit-Limit"))
		}
	}
}

func TestSMSPumping_AllowListPremiumRangesAndTheCountryCap(t *testing.T) {
	tw := startFakeTwilio(t)
	e := newEnv(t, envOptions{twilioURL: tw.URL, limits: realLimits(func(l *ratelimit.Settings) {
		l.SMSPerCountry = store.Limit{Burst: 2, Per: time.Hour}
	})})
	example := func(region string, typ phonenumbers.PhoneNumberType) string {
		n := phonenumbers.GetExampleNumberForType(region, typ)
		if n == nil {
			t.Fatalf("no example %v number for %s", typ, region)
		}
		return phonenumbers.Format(n, phonenumbers.E164)
	}
	ukMobile := example("GB", phonenumbers.MOBILE)
	r := e.startSMS("sms-us-only", ukMobile)
	wantError(t, r, http.StatusBadRequest, "bad.phone_number", "Phone numbers with country calling code +44 are not allowed for this connection")
	// The connection without an allow-list takes it.
	wantSMSStarted(t, e.startSMS("sms", ukMobile), ukMobile, nil)

	for _, region := range []string{"US", "GB"} {
		premium := example(region, phonenumbers.PREMIUM_RATE)
		wantError(t, e.startSMS("sms", premium), http.StatusBadRequest, "bad.phone_number",
			"Invalid phone number: "+premium+" is a premium-rate or unknown kind of line")
	}

	for i, phone := range []string{"+16502530111", "+16502530112", "+16502530113"} {
		r := e.startSMS("sms-us-only", phone)
		if i < 2 {
			wantSMSStarted(t, r, phone, nil)
			continue
		}
		wantError(t, r, http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)
	}
	// The cap is per connection and country.
	wantSMSStarted(t, e.startSMS("sms", "+16502530113"), "+16502530113", nil)
	if n := len(tw.messages()); n != 4 {
		t.Errorf("Twilio got %d messages, want 4", n)
	}
}

func TestSMSPumping_WarnsAtStartAboutConnectionsWithoutAnAllowList(t *testing.T) {
	e := newEnv(t, envOptions{})
	logs := e.logs.String()
	for conn, warned := range map[string]bool{"sms": true, "sms-gateway": true, "sms-us-only": false} {
		re := regexp.MustCompile(`level=WARN msg="sms connection allows every country[^\n]*connection=` + conn + `\n`)
		if re.MatchString(logs) != warned {
			t.Errorf("warning for %s: %v, want %v", conn, !warned, warned)
		}
	}
}

func TestLimits_A429NeverTellsWhetherTheIdentifierIsAUser(t *testing.T) {
	e := newEnv(t, envOptions{limits: realLimits(nil)})
	now := time.Now()
	// A user of the closed connection (it has disable_signup, so made in
	// the store as an operator's import would).
	if _, _, err := e.App.Store.LoginUser(context.Background(), store.User{UserID: "email|0123456789abcdef01234567",
		Connection: "closed", Strategy: "email", Identifier: "member@example.com", Email: "member@example.com",
		EmailVerified: true, Name: "member@example.com", CreatedAt: now, UpdatedAt: now, LastLogin: now}, true); err != nil {
		t.Fatal(err)
	}
	answers := map[string][]string{}
	for _, email := range []string{"member@example.com", "stranger@example.com"} {
		for range 6 {
			r := e.startAs(webClientID, webSecret, "closed", email)
			delete(r.JSON, "_id") // identifies the request
			delete(r.JSON, "email")
			b, _ := json.Marshal(r.JSON)
			answers[email] = append(answers[email], fmt.Sprint(r.Status, " ", string(b), " ", r.Header.Get("X-RateLimit-Limit")))
		}
	}
	if fmt.Sprint(answers["member@example.com"]) != fmt.Sprint(answers["stranger@example.com"]) {
		t.Errorf("a member and a stranger are told apart:\n%q\n%q", answers["member@example.com"], answers["stranger@example.com"])
	}
	if got := answers["stranger@example.com"]; !strings.HasPrefix(got[4], "200 ") || !strings.HasPrefix(got[5], "429 ") {
		t.Errorf("answers = %q, want five 200s then a 429", got)
	}
	// Only the member got mail.
	msgs := e.SMTP.Wait(t, 5, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	for _, m := range e.SMTP.Messages() {
		if !strings.Contains(strings.Join(m.To, ","), "member@example.com") {
			t.Errorf("mail to %v", m.To)
		}
	}
	if len(msgs) != 5 || len(e.SMTP.Messages()) != 5 {
		t.Errorf("%d messages, want 5 to the member", len(e.SMTP.Messages()))
	}
}
