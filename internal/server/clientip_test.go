package server

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/sesame-id/sesame/internal/tenant"
)

func TestCallerIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	cases := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string
		want    string
	}{
		{"no proxies: the peer", nil, "203.0.113.7:5000", nil, "203.0.113.7"},
		{"spoofed XFF without a trusted proxy changes nothing", nil, "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"untrusted peer with trusted list", proxies, "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"trusted proxy: right-most untrusted", proxies, "10.0.0.2:5000", []string{"198.51.100.1, 203.0.113.9, 10.0.0.5"}, "203.0.113.9"},
		{"several header lines", proxies, "10.0.0.2:5000", []string{"198.51.100.1", "203.0.113.9"}, "203.0.113.9"},
		{"all trusted: the left-most", proxies, "10.0.0.2:5000", []string{"10.1.1.1, 10.0.0.5"}, "10.1.1.1"},
		{"malformed entry ends the walk", proxies, "10.0.0.2:5000", []string{"198.51.100.1, garbage"}, "10.0.0.2"},
		{"trusted proxy without XFF", proxies, "10.0.0.2:5000", nil, "10.0.0.2"},
		{"IPv6 proxy", proxies, "[fd00::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4-mapped peer", nil, "[::ffff:203.0.113.7]:5000", nil, "203.0.113.7"},
		{"zone of the peer dropped", nil, "[fe80::1%eth0]:5000", nil, "fe80::1"},
		{"zoned peer inside a trusted prefix is trusted", []netip.Prefix{netip.MustParsePrefix("fe80::/10")}, "[fe80::1%eth0]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"zone of a hop dropped", proxies, "10.0.0.2:5000", []string{"fe80::9%eth1"}, "fe80::9"},
		{"zoned trusted hop skipped", proxies, "10.0.0.2:5000", []string{"2001:db8::7, fd00::5%eth0"}, "2001:db8::7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Server{TrustedProxies: c.trusted}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.callerIP(r); got != c.want {
				t.Fatalf("callerIP = %q, want %q", got, c.want)
			}
		})
	}
}

func TestEndUserIP_Auth0ForwardedForMatrix(t *testing.T) {
	public := &tenant.Client{ClientID: "p", TokenEndpointAuthMethod: tenant.AuthNone, IsTokenEndpointIPHeaderTrusted: true}
	untrusted := &tenant.Client{ClientID: "u", TokenEndpointAuthMethod: tenant.AuthClientSecretPost}
	trusted := &tenant.Client{ClientID: "t", TokenEndpointAuthMethod: tenant.AuthClientSecretPost, IsTokenEndpointIPHeaderTrusted: true}
	cases := []struct {
		name          string
		client        *tenant.Client
		authenticated bool
		header        string
		want          string
	}{
		{"public client", public, false, "198.51.100.1", "203.0.113.7"},
		{"confidential without (or with a wrong) secret", trusted, false, "198.51.100.1", "203.0.113.7"},
		{"flag off", untrusted, true, "198.51.100.1", "203.0.113.7"},
		{"trusted", trusted, true, "198.51.100.1", "198.51.100.1"},
		{"trusted but malformed header", trusted, true, "not-an-ip", "203.0.113.7"},
		{"trusted, zone dropped", trusted, true, "fe80::1%eth0", "fe80::1"},
		{"trusted, IPv4-mapped", trusted, true, "::ffff:198.51.100.1", "198.51.100.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			r.RemoteAddr = "203.0.113.7:4000"
			r.Header.Set("Auth0-Forwarded-For", c.header)
			if got := (&Server{}).endUserIP(r, c.client, c.authenticated); got != c.want {
				t.Fatalf("endUserIP = %q, want %q", got, c.want)
			}
		})
	}
}

// FuzzClientIP feeds arbitrary X-Forwarded-For and auth0-forwarded-for
// values: the answer is always a valid address, never a panic, and without
// a trusted proxy or a trusted client it is the peer's.
func FuzzClientIP(f *testing.F) {
	for _, seed := range [][2]string{
		{"198.51.100.1, 203.0.113.9, 10.0.0.5", "198.51.100.7"},
		{"garbage,,, ,", "not-an-ip"},
		{"[2001:db8::1]:80, ::ffff:10.0.0.1", "2001:db8::7%eth0"},
		{"10.1.1.1, 10.0.0.5", " 203.0.113.5 "},
		{"", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	trustedClient := &tenant.Client{ClientID: "c", TokenEndpointAuthMethod: tenant.AuthClientSecretPost, IsTokenEndpointIPHeaderTrusted: true}
	f.Fuzz(func(t *testing.T, xff, a0ff string) {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = "10.0.0.2:5000"
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("Auth0-Forwarded-For", a0ff)
		for _, s := range []*Server{{}, {TrustedProxies: proxies}} {
			for _, ip := range []string{s.callerIP(r), s.endUserIP(r, trustedClient, true), s.endUserIP(r, trustedClient, false)} {
				if _, err := netip.ParseAddr(ip); err != nil {
					t.Fatalf("address %q from X-Forwarded-For %q, auth0-forwarded-for %q", ip, xff, a0ff)
				}
			}
			if len(s.TrustedProxies) == 0 && s.callerIP(r) != "10.0.0.2" {
				t.Fatalf("without trusted proxies X-Forwarded-For %q changed the caller to %q", xff, s.callerIP(r))
			}
			if got := s.endUserIP(r, trustedClient, false); got != s.callerIP(r) {
				t.Fatalf("auth0-forwarded-for honoured without the secret: %q", got)
			}
		}
	})
}
