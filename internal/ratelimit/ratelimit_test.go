package ratelimit

import (
	"net/http"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]store.Limit{
		"50/1h":     {Burst: 50, Per: time.Hour},
		" 5/15m ":   {Burst: 5, Per: 15 * time.Minute},
		"100/10s":   {Burst: 100, Per: 10 * time.Second},
		"1/1h30m0s": {Burst: 1, Per: 90 * time.Minute},
	} {
		got, err := ParseLimit(in)
		if err != nil || got != want {
			t.Errorf("ParseLimit(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if back, err := ParseLimit(FormatLimit(got)); err != nil || back != got {
			t.Errorf("FormatLimit(%+v) = %q does not read back", got, FormatLimit(got))
		}
	}
	for _, in := range []string{"", "50", "50/", "/1h", "0/1h", "-1/1h", "5/0s", "5/-1m", "x/1h", "5/1 h", "5/1h/2"} {
		if l, err := ParseLimit(in); err == nil {
			t.Errorf("ParseLimit(%q) = %+v, want an error", in, l)
		}
	}
}

func TestSetHeaders(t *testing.T) {
	h := http.Header{}
	SetHeaders(h, store.Limit{Burst: 50, Per: time.Hour}, store.Bucket{Allowed: true, Remaining: 49, Reset: time.Unix(1700000072, 500)})
	if h.Get("X-RateLimit-Limit") != "50" || h.Get("X-RateLimit-Remaining") != "49" || h.Get("X-RateLimit-Reset") != "1700000072" {
		t.Errorf("headers = %v", h)
	}
}

func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"50/1h", "5/15m", "0/1h", "1/-1s", "9999999999999999999/1h", "5/1e9h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLimit(s)
		if err == nil && (l.Burst <= 0 || l.Per <= 0) {
			t.Fatalf("ParseLimit(%q) accepted %+v", s, l)
		}
	})
}

func TestMailbox_VariantsOfOneMailboxShareAKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"victim@example.com", "victim@example.com"},
		{"victim+1@example.com", "victim@example.com"},
		{"victim+@example.com", "victim@example.com"},
		{"victim+a+b@example.com", "victim@example.com"},
		{"first.last@example.com", "first.last@example.com"}, // dots are the mailbox elsewhere
		{"first.last+x@example.com", "first.last@example.com"},
		{"first.last@gmail.com", "firstlast@gmail.com"},
		{"f.i.r.s.t.l.a.s.t+news@gmail.com", "firstlast@gmail.com"},
		{"first.last@googlemail.com", "firstlast@gmail.com"},
		{"firstlast@googlemail.com", "firstlast@gmail.com"},
		{"first.last@GMail.com", "firstlast@gmail.com"},
		{"first.last@mail.gmail.com", "first.last@mail.gmail.com"}, // not Gmail's own domain
		{"first.last@gmail.com.", "firstlast@gmail.com"},           // the root dot names the same domain
		{"victim+1@example.com.", "victim@example.com"},
		{"+tag@example.com", "@example.com"},
		{"not-an-address", "not-an-address"},
		{"", ""},
	} {
		if got := Mailbox(c.in); got != c.want {
			t.Errorf("Mailbox(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestAddrKey_IPv6CountsByItsSlash64AndIPv4ByItsAddress(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"}, // IPv4-mapped is the IPv4 address
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:DB8:1:2::ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"}, // a zone names an interface, not a caller
		{"fe80::1%eth1", "fe80::/64"},
		{"::1", "::/64"},
		{"not-an-address", "not-an-address"}, // kept: still one bucket of its own
		{"", ""},
	} {
		if got := AddrKey(c.in); got != c.want {
			t.Errorf("AddrKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestAddressKeys_OneSlash64IsOneBucket(t *testing.T) {
	for _, key := range []func(string) string{StartIPKey, VerifyIPKey} {
		if a, b := key("2001:db8::1"), key("2001:db8::2%eth0"); a != b {
			t.Errorf("keys %q and %q differ within one /64", a, b)
		}
		if a, b := key("2001:db8::1"), key("2001:db8:0:1::1"); a == b {
			t.Errorf("key %q for two /64s", a)
		}
		if a, b := key("198.51.100.1"), key("198.51.100.2"); a == b {
			t.Errorf("key %q for two IPv4 addresses", a)
		}
	}
}
