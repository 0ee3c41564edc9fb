// Package ratelimit holds Sesame's rate limits: token buckets kept in the
// store, so every replica on one database counts against the same buckets.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// Settings are the limits Sesame enforces. The defaults follow Auth0's where
// it has one (spec §5.1).
type Settings struct {
	StartPerIP      store.Limit // POST /passwordless/start per end-user IP
	PerRecipient    store.Limit // messages per address or number and connection
	RecipientPerDay store.Limit // the same, over a day: no address gets hundreds a day
	TokenPerIP      store.Limit // authorization_code, refresh_token and client_credentials grants and /oauth/revoke per IP
	VerifyPerIP     store.Limit // code checks (OTP grant, /passwordless/verify, magic links) per IP
	UserInfoPerUser store.Limit // GET /userinfo per user
	SMSPerCountry   store.Limit // SMS per country calling code and connection
	// ManagementPerClient is requests to the Management API (/api/v2/)
	// per calling client; refused tokens share one bucket.
	ManagementPerClient store.Limit
}

// Defaults are the limits used unless configured otherwise.
func Defaults() Settings {
	return Settings{
		StartPerIP:      store.Limit{Burst: 50, Per: time.Hour},
		PerRecipient:    store.Limit{Burst: 5, Per: 15 * time.Minute},
		RecipientPerDay: store.Limit{Burst: 30, Per: 24 * time.Hour},
		TokenPerIP:      store.Limit{Burst: 300, Per: time.Minute},      // 5 a second, burst 300
		VerifyPerIP:     store.Limit{Burst: 100, Per: 10 * time.Second}, // 600 a minute, burst 100
		UserInfoPerUser: store.Limit{Burst: 10, Per: 2 * time.Minute},   // 5 a minute, burst 10
		SMSPerCountry:   store.Limit{Burst: 100, Per: time.Hour},
		// Auth0's paid tenants: 16 requests a second sustained, with bursts.
		ManagementPerClient: store.Limit{Burst: 50, Per: 3 * time.Second},
	}
}

// ParseLimit reads "BURST/DURATION", e.g. "50/1h": BURST requests, all of
// them regained over DURATION.
func ParseLimit(s string) (store.Limit, error) {
	burst, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.Atoi(burst)
	if !ok || err != nil || n <= 0 {
		return store.Limit{}, fmt.Errorf("limit %q: want BURST/DURATION such as 50/1h", s)
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return store.Limit{}, fmt.Errorf("limit %q: want BURST/DURATION such as 50/1h", s)
	}
	return store.Limit{Burst: n, Per: d}, nil
}

// FormatLimit writes a limit the way ParseLimit reads it.
func FormatLimit(l store.Limit) string { return strconv.Itoa(l.Burst) + "/" + l.Per.String() }

// Buckets is the part of the store the limiter uses.
type Buckets interface {
	TakeTokens(ctx context.Context, takes []store.Take, now time.Time) ([]store.Bucket, error)
}

// Limiter takes tokens from the store's buckets.
type Limiter struct {
	Store    Buckets
	Settings Settings
}

// Take takes one token from each bucket, all or nothing (store.TakeTokens):
// when one is empty the error is store.ErrRateLimited and the buckets say
// which.
func (l *Limiter) Take(ctx context.Context, takes []store.Take, now time.Time) ([]store.Bucket, error) {
	bs, err := l.Store.TakeTokens(ctx, takes, now)
	if err != nil && !errors.Is(err, store.ErrRateLimited) {
		return nil, fmt.Errorf("rate limit %s: %w", strings.SplitN(takes[0].Key, ":", 2)[0], err)
	}
	return bs, err
}

// SetHeaders writes Auth0's rate limit headers (spec §6.2): the bucket size,
// what is left, and when it is full again (epoch seconds).
func SetHeaders(h http.Header, lim store.Limit, b store.Bucket) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(lim.Burst))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(b.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(b.Reset.Unix(), 10))
}

// Mailbox is the inbox an email address reaches, for counting messages to
// one recipient: the identifier stays as it is (victim+1@example.com is its
// own account), but its tag and, at Gmail, its dots reach the same inbox as
// victim@example.com, so they share its bucket. The local part loses
// everything from its first '+'; at gmail.com and googlemail.com (one
// domain) it loses its dots too. email is already canonical (lower-case
// local part, A-label domain); anything without an '@' comes back as it is.
func Mailbox(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return email
	}
	local, domain := email[:at], strings.ToLower(strings.TrimSuffix(email[at+1:], "."))
	local, _, _ = strings.Cut(local, "+")
	if domain == "gmail.com" || domain == "googlemail.com" {
		local, domain = strings.ReplaceAll(local, ".", ""), "gmail.com"
	}
	return local + "@" + domain
}

// AddrKey is what limits and brute-force counters count for a caller's
// address: an IPv4 address (IPv4-mapped ones included) as it is, an IPv6
// address by its /64, written as a prefix (2001:db8:1:2::/64). An IPv6
// subscriber is given at least a /64 and may take any address in it, so
// counting addresses would give it 2^64 buckets; a zone id names our own
// interface, not the caller, and is dropped. What does not parse as an
// address comes back as it is.
func AddrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}

// Bucket keys. The address keys count AddrKey(ip).
func StartIPKey(ip string) string                 { return "start:ip:" + AddrKey(ip) }
func RecipientKey(conn, identifier string) string { return "start:rcpt:" + conn + ":" + identifier }
func RecipientDayKey(conn, identifier string) string {
	return "start:rcpt-day:" + conn + ":" + identifier
}
func TokenIPKey(ip string) string                { return "token:ip:" + AddrKey(ip) }
func VerifyIPKey(ip string) string               { return "verify:ip:" + AddrKey(ip) }
func UserInfoKey(userID string) string           { return "userinfo:user:" + userID }
func CountryKey(conn, callingCode string) string { return "sms:country:" + conn + ":" + callingCode }
