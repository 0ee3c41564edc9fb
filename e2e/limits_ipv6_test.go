package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/store"
)

// An IPv6 caller owns at least a /64 and picks any address in it at will,
// and a zone id names the receiver's interface, not the caller: the limits
// count the /64, while the events keep the address the request came from.
func TestLimits_IPv6CallersAreCountedByTheirSlash64(t *testing.T) {
	e := newEnv(t, envOptions{trustedProxies: loopback, limits: realLimits(func(l *ratelimit.Settings) {
		l.StartPerIP = store.Limit{Burst: 1, Per: time.Hour}
		l.PerRecipient = store.Limit{Burst: 100, Per: time.Hour}
	})})
	for i, c := range []struct {
		from   string
		status int
	}{
		{"2001:db8:1:2::1", 200},
		{"2001:db8:1:2:ffff:ffff:ffff:fffe", 429}, // the same /64
		{"2001:db8:1:3::1", 200},                  // the next /64
		{"2001:db8:1:3::1", 429},
		{"fe80::1%eth0", 200},
		{"fe80::1%eth1", 429}, // another zone of the same address
		{"fe80::2", 429},      // and another address in its /64
		{"::ffff:198.51.100.1", 200},
		{"198.51.100.1", 429}, // IPv4-mapped is that IPv4 address
		{"198.51.100.2", 200}, // IPv4 stays per address
	} {
		r := e.startAs(nativeClientID, "", "email", "ipv6@example.com", xff(c.from))
		if r.Status != c.status {
			t.Errorf("%d: start from %s: %d %s, want %d", i, c.from, r.Status, r.Body, c.status)
		}
	}
	var ips []string
	for _, ev := range e.events("api_limit") {
		ips = append(ips, ev.IP)
	}
	slices.Reverse(ips)
	if got, want := strings.Join(ips, " "), "2001:db8:1:2:ffff:ffff:ffff:fffe 2001:db8:1:3::1 fe80::1 fe80::2 198.51.100.1"; got != want {
		t.Errorf("api_limit events for %q, want %q", got, want)
	}

	// auth0-forwarded-for names the end user; it is counted the same way.
	for i, c := range []struct {
		from   string
		status int
	}{
		{"2001:db8:5:6::1", 200},
		{"2001:db8:5:6::2%eth0", 429},
		{"2001:db8:5:7::1", 200},
	} {
		r := e.startAs(backendClientID, backendSecret, "email", "ipv6@example.com", header("Auth0-Forwarded-For", c.from))
		if r.Status != c.status {
			t.Errorf("%d: start for %s: %d %s, want %d", i, c.from, r.Status, r.Body, c.status)
		}
	}
}

func TestLimits_IPv6CodeChecksAreCountedByTheirSlash64(t *testing.T) {
	e := newEnv(t, envOptions{trustedProxies: loopback, limits: realLimits(func(l *ratelimit.Settings) {
		l.VerifyPerIP = store.Limit{Burst: 1, Per: time.Hour}
	})})
	for i, c := range []struct {
		from   string
		status int
	}{
		{"2001:db8:1:2::1", 403},
		{"2001:db8:1:2::2", 429},
		{"2001:db8:1:3::1", 403},
		{"fe80::1%eth0", 403},
		{"fe80::1%eth1", 429},
		{"::ffff:198.51.100.1", 403},
		{"198.51.100.1", 429},
		{"198.51.100.2", 403},
	} {
		r := e.guess("email", "nobody@example.com", "000000", xff(c.from))
		if r.Status != c.status {
			t.Errorf("%d: code check from %s: %d %s, want %d", i, c.from, r.Status, r.Body, c.status)
		}
	}
	// /passwordless/verify counts the caller in the same bucket.
	r := e.postJSON("/passwordless/verify", map[string]any{"client_id": nativeClientID, "connection": "email",
		"email": "nobody@example.com", "verification_code": "000000", "grant_type": "http://auth0.com/oauth/grant-type/passwordless/otp"},
		xff("2001:db8:1:3:abcd::1"))
	wantError(t, r, http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)

	// The end user behind a trusted backend too.
	form := func(from string) response {
		return e.postForm("/oauth/token", url.Values{"grant_type": {"http://auth0.com/oauth/grant-type/passwordless/otp"},
			"client_id": {backendClientID}, "client_secret": {backendSecret}, "username": {"nobody@example.com"},
			"otp": {"000000"}, "realm": {"email"}}, header("Auth0-Forwarded-For", from))
	}
	for i, c := range []struct {
		from   string
		status int
	}{
		{"2001:db8:5:6::1", 403},
		{"2001:db8:5:6::2%eth0", 429},
		{"2001:db8:5:7::1", 403},
	} {
		if r := form(c.from); r.Status != c.status {
			t.Errorf("%d: backend code check for %s: %d %s, want %d", i, c.from, r.Status, r.Body, c.status)
		}
	}
}

// Brute-force protection counts failures the same way: ten wrong guesses
// spread over one /64 block that /64 for the account, not only the address
// of the tenth.
func TestBruteForce_PairBlockCountsAnIPv6Slash64AsOneAddress(t *testing.T) {
	e := newEnv(t, envOptions{trustedProxies: loopback})
	const victim = "pair6@example.com"
	var code string
	for i := range 10 {
		if i%3 == 0 {
			code = e.startCode(nativeClientID, victim)
		}
		from := fmt.Sprintf("2001:db8:7:7::%x", i+1) // a new address every time
		wantError(t, e.guess("email", victim, wrongCode(code), xff(from)), http.StatusForbidden, "invalid_grant", descWrongEmail)
	}
	code = e.startCode(nativeClientID, victim)
	wantError(t, e.guess("email", victim, code, xff("2001:db8:7:7::ffff")), http.StatusTooManyRequests, "too_many_attempts", "")
	if ev := e.events("limit_wc"); len(ev) != 1 || ev[0].IP != "2001:db8:7:7::a" {
		t.Errorf("limit_wc events = %+v, want one with the address of the tenth failure", ev)
	}
	// Another /64 is another address.
	if r := e.guess("email", victim, code, xff("2001:db8:7:8::1")); r.Status != http.StatusOK {
		t.Errorf("login from another /64: %d %s", r.Status, r.Body)
	}
}
