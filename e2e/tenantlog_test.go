package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sesame-id/sesame/internal/app"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/store"
)

// userAgentTransport gives every request of a client one User-Agent, so
// that a test can find it in the tenant log.
type userAgentTransport struct {
	base http.RoundTripper
	ua   string
}

func (t userAgentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", t.ua)
	return t.base.RoundTrip(r)
}

// allEvents returns every event, in log_id order (checkpoint paging), once
// the recorder wrote what it holds.
func (e *env) allEvents() []store.Event {
	e.t.Helper()
	if err := e.App.Events.Flush(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	var all []store.Event
	after := "0"
	for {
		page, err := e.App.Store.Events(context.Background(), store.EventQuery{After: after, Take: 10})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(page.Events) == 0 {
			return all
		}
		all = append(all, page.Events...)
		after = page.Events[len(page.Events)-1].ID
	}
}

var logIDRE = regexp.MustCompile(`^900\d{53}$`)

// TestTenantLog_RecordsEveryStepWithoutSecrets runs a login with a wrong
// code, a refresh, a revocation, a magic-link login with its code exchange
// and a logout, a rate limit and a brute-force block and its release, and
// then reads the tenant log: exactly the events Auth0 would show, each with
// its client, connection, user, IP and user agent, and none holding a code,
// a secret, a token or a link.
func TestTenantLog_RecordsEveryStepWithoutSecrets(t *testing.T) {
	limits := generousLimits()
	limits.PerRecipient = store.Limit{Burst: 2, Per: time.Hour}
	protection := passwordless.DefaultProtection()
	protection.PairThreshold = 2
	e := newEnv(t, envOptions{limits: &limits, protection: &protection})
	const ua = "sesame-e2e-tenant-log/1.0 (+https://example.com)"
	client := *e.HTTP
	client.Transport = userAgentTransport{base: e.HTTP.Transport, ua: ua}
	e.HTTP = &client
	const user, victim = "log.user@example.com", "log.victim@example.com"
	secrets := []string{webSecret}

	// An email code, a wrong guess, then the right code: cs, fepotpft, ss, s.
	code := e.startCode(webClientID, user)
	secrets = append(secrets, code)
	wantError(t, e.otp(webClientID, user, wrongCode(code), "openid offline_access"), http.StatusForbidden, "invalid_grant", descWrongEmail)
	tok := e.otp(webClientID, user, code, "openid offline_access")
	if tok.Status != http.StatusOK || tok.str("refresh_token") == "" {
		t.Fatalf("login: %d %s", tok.Status, tok.Body)
	}
	userID, _ := jwtClaims(t, tok.str("id_token"))["sub"].(string)
	secrets = append(secrets, tok.str("access_token"), tok.str("id_token"), tok.str("refresh_token"))

	// A refresh (sertft) and the revocation of the refresh token (srrt).
	ref := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {webClientID},
		"client_secret": {webSecret}, "refresh_token": {tok.str("refresh_token")}})
	if ref.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", ref.Status, ref.Body)
	}
	secrets = append(secrets, ref.str("access_token"), ref.str("id_token"), ref.str("refresh_token"))
	if r := e.postForm("/oauth/revoke", url.Values{"client_id": {webClientID}, "client_secret": {webSecret},
		"token": {tok.str("refresh_token")}}); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}

	// A magic link (cls) opened and confirmed (s), its authorization code
	// exchanged (seacft), and the session it started ended (slo).
	verifier := oauth2.GenerateVerifier()
	link := e.startLink(linkBody(webClientID, user, map[string]any{
		"redirect_uri": webCallback, "scope": "openid", "state": "st",
		"code_challenge": oauth2.S256ChallengeFromVerifier(verifier), "code_challenge_method": "S256",
	}))
	secrets = append(secrets, link.String(), link.RawQuery, link.Query().Get("verification_code"), verifier)
	b := e.browser()
	cb := redirect(t, submit(t, b, openLink(t, b, e, link)), webCallback+"?", false)
	cfg := oauth2.Config{ClientID: webClientID, ClientSecret: webSecret, RedirectURL: webCallback,
		Endpoint: oauth2.Endpoint{TokenURL: e.URL + "oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	lt, err := cfg.Exchange(oauthContext(e), cb.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := lt.Extra("id_token").(string)
	secrets = append(secrets, cb.Get("code"), lt.AccessToken, rawID)
	if res := browse(t, b, http.MethodGet, e.URL+"v2/logout?client_id="+webClientID, nil); res.Status != http.StatusFound {
		t.Fatalf("logout: %d %s", res.Status, res.Body)
	}

	// The address's bucket is empty after two messages: api_limit.
	r := e.postJSON("/passwordless/start", map[string]any{"client_id": webClientID, "client_secret": webSecret,
		"connection": "email", "email": user, "send": "code"})
	wantError(t, r, http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)

	// Two wrong guesses block the pair (limit_wc); the right code is then
	// refused; an operator releases the block (ublkdu).
	vcode := e.startCode(webClientID, victim)
	secrets = append(secrets, vcode)
	for range 2 {
		wantError(t, e.otp(webClientID, victim, wrongCode(vcode), "openid"), http.StatusForbidden, "invalid_grant", descWrongEmail)
	}
	wantError(t, e.otp(webClientID, victim, vcode, "openid"), http.StatusTooManyRequests, "too_many_attempts", passwordless.DescBlocked)
	if err := app.Blocks(context.Background(), app.Config{Database: e.Database}, []string{"clear", victim}, io.Discard); err != nil {
		t.Fatal(err)
	}

	events := e.allEvents()
	var types []string
	for _, ev := range events {
		types = append(types, ev.Type)
		t.Logf("%s %-8s %-12s %-8s %-30s %-24s %q %s", ev.ID, ev.Type, ev.ClientID[:min(12, len(ev.ClientID))], ev.Connection, ev.UserID, ev.Identifier, ev.Description, ev.Details)
	}
	want := []string{
		"cs", "fepotpft", "ss", "s", "sertft", "srrt", // the code login, refresh and revocation
		"cls", "s", "seacft", "slo", // the magic link
		"api_limit",
		"cs", "fepotpft", "limit_wc", "fepotpft", "fepotpft", "ublkdu", // the block
	}
	sorted := func(s []string) []string { s = slices.Clone(s); sort.Strings(s); return s }
	if !slices.Equal(sorted(types), sorted(want)) {
		t.Fatalf("event types %q, want (in any order) %q", types, want)
	}

	// The log_ids have Auth0's shape, are all different and sort in the
	// order the events were recorded (the block and its failed guess are
	// one transaction: either order).
	seen := map[string]bool{}
	for i, ev := range events {
		if !logIDRE.MatchString(ev.ID) || seen[ev.ID] {
			t.Errorf("event %d: log_id %q is not 56 digits beginning with 900, or repeats", i, ev.ID)
		}
		seen[ev.ID] = true
		if ev.CreatedAt.IsZero() || time.Since(ev.CreatedAt) > time.Minute {
			t.Errorf("event %s: date %v", ev.Type, ev.CreatedAt)
		}
	}

	for _, ev := range events {
		what := ev.Type + " " + ev.Description
		if ev.Type == "ublkdu" {
			if ev.Identifier != victim {
				t.Errorf("%s: user_name %q, want %s", what, ev.Identifier, victim)
			}
			continue
		}
		if ev.ClientID != webClientID || ev.IP != "127.0.0.1" || ev.UserAgent != ua {
			t.Errorf("%s: client_id %q ip %q user_agent %q, want %s, 127.0.0.1, %s", what, ev.ClientID, ev.IP, ev.UserAgent, webClientID, ua)
		}
		switch ev.Type {
		case "cs", "cls", "fepotpft", "ss", "s", "limit_wc":
			if ev.Connection != "email" || ev.ClientName != "Web App" {
				t.Errorf("%s: connection %q client_name %q, want email, Web App", what, ev.Connection, ev.ClientName)
			}
			if ev.Identifier != user && ev.Identifier != victim {
				t.Errorf("%s: user_name %q", what, ev.Identifier)
			}
		}
		switch ev.Type {
		case "ss", "s", "sertft", "seacft", "srrt", "slo":
			if ev.UserID != userID || userID == "" {
				t.Errorf("%s: user_id %q, want %s", what, ev.UserID, userID)
			}
		}
		if ev.Type == "fepotpft" && ev.Identifier == user && ev.Description != "Wrong email or verification code." {
			t.Errorf("%s: description, want Auth0's %q", what, "Wrong email or verification code.")
		}
	}

	// Nothing secret in any field: not the codes, the client secret, the
	// tokens, the authorization code, the PKCE verifier or the link.
	for _, ev := range events {
		fields := []string{ev.Type, ev.Description, ev.ClientID, ev.ClientName, ev.Connection, ev.ConnectionID,
			ev.UserID, ev.Identifier, ev.IP, ev.UserAgent, string(ev.Details)}
		for _, s := range secrets {
			if s == "" {
				continue
			}
			for _, f := range fields {
				if strings.Contains(f, s) {
					t.Errorf("event %s %s holds a secret %q in %q", ev.ID, ev.Type, s, f)
				}
			}
			// A log_id is 56 digits: a 6-digit code may be among them by
			// chance, so only the long secrets are looked for there.
			if len(s) > 12 && strings.Contains(ev.ID, s) {
				t.Errorf("event %s holds a secret in its log_id", ev.Type)
			}
		}
		if strings.Contains(string(ev.Details), "verification_code") || strings.Contains(ev.Description, "verification_code") {
			t.Errorf("event %s %s mentions verification_code: %s %s", ev.ID, ev.Type, ev.Description, ev.Details)
		}
	}

	// The queries the Management API will serve.
	q := func(q store.EventQuery) store.EventPage {
		page, err := e.App.Store.Events(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		return page
	}
	if page := q(store.EventQuery{Types: []string{"s", "ss"}, IncludeTotal: true}); page.Total != 3 || len(page.Events) != 3 {
		t.Errorf("type s or ss: %d events, total %d, want 3", len(page.Events), page.Total)
	}
	if page := q(store.EventQuery{UserID: userID}); len(page.Events) != 7 {
		t.Errorf("user %s: %d events, want 7 (ss, s, sertft, srrt, s, seacft, slo)", userID, len(page.Events))
	}
	first := q(store.EventQuery{PerPage: 1, Ascending: true})
	if len(first.Events) != 1 || first.Events[0].ID != events[0].ID {
		t.Errorf("the oldest event by date is %+v, want the first by log_id %s", first.Events, events[0].ID)
	}
	if one, err := e.App.Store.Event(context.Background(), events[3].ID); err != nil || one.Type != events[3].Type {
		t.Errorf("Event(%s) = %+v, %v", events[3].ID, one, err)
	}
	wantCleanLog(t, e, code, vcode, link.Query().Get("verification_code"))
}

// TestTenantLog_DisableSignupIsAFailedSignup: a start for an address that
// is no user's on a connection with disable_signup sends nothing and logs
// fs; a start for a user logs cs.
func TestTenantLog_DisableSignupIsAFailedSignup(t *testing.T) {
	e := newEnv(t, envOptions{})
	if r := e.startAs(webClientID, webSecret, "closed", "stranger@example.com"); r.Status != http.StatusOK {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	ev := e.events("fs")
	if len(ev) != 1 || ev[0].Description != "Public signup is disabled" || ev[0].Connection != "closed" ||
		ev[0].Identifier != "stranger@example.com" || ev[0].ClientID != webClientID {
		t.Errorf("fs events = %+v", ev)
	}
	if n := len(e.events("cs")); n != 0 {
		t.Errorf("%d cs events for a message that was not sent", n)
	}
}
