package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// An attacker who gets hold of a magic link (a forwarded mail, a scanner's
// log, a shoulder) must not be able to change what the link authorizes: the
// parameters come from what was stored with the code at /passwordless/start.

// TestMagicLink_PKCEDowngradeIsRefused is the attack that worked before: a
// link carrying an S256 challenge, posted with code_challenge_method=plain
// and a challenge of the attacker's choosing, gave an authorization code
// that the attacker redeemed with that challenge as the verifier.
func TestMagicLink_PKCEDowngradeIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	verifier := oauth2.GenerateVerifier()
	link := e.startLink(linkBody(nativeClientID, "pkce-victim@example.com", map[string]any{
		"redirect_uri": nativeCallback, "code_challenge": oauth2.S256ChallengeFromVerifier(verifier), "code_challenge_method": "S256",
	}))
	attacker := e.browser()
	form := openLink(t, attacker, e, link)

	mine := oauth2.GenerateVerifier()
	altered := htmlForm{Action: form.Action, Fields: cloneValues(form.Fields)}
	altered.Fields.Set("code_challenge_method", "plain")
	altered.Fields.Set("code_challenge", mine)
	res := submit(t, attacker, altered)
	if loc := res.Header.Get("Location"); strings.Contains(loc, "code=") {
		code, _ := url.Parse(loc)
		r := e.exchange(code.Query().Get("code"), "client_id", nativeClientID, "client_secret", "", "redirect_uri", nativeCallback, "code_verifier", mine)
		t.Fatalf("the downgraded link gave an authorization code (exchange: %d %s)", r.Status, r.Body)
	}
	wantErrorPage(t, res)

	// The refusal consumed nothing: the victim's own link still logs in,
	// and only the victim's verifier redeems its code.
	victim := e.browser()
	p := redirect(t, submit(t, victim, openLink(t, victim, e, link)), nativeCallback+"?", false)
	public := []string{"client_id", nativeClientID, "client_secret", "", "redirect_uri", nativeCallback}
	if r := e.exchange(p.Get("code"), append(public, "code_verifier", verifier)...); r.Status != 200 {
		t.Fatalf("the victim's exchange: %d %s", r.Status, r.Body)
	}
}

// TestMagicLink_ParametersAreBoundToTheCode alters each parameter of a link
// in turn, and adds and drops some: every such request is refused with an
// error page that sends the browser nowhere, uses none of the code's tries
// (more alterations are made than a code has tries), and leaves the link
// good for its own parameters.
func TestMagicLink_ParametersAreBoundToTheCode(t *testing.T) {
	e := newEnv(t, envOptions{})
	verifier := oauth2.GenerateVerifier()
	link := e.startLink(linkBody(webClientID, "bound@example.com", map[string]any{
		"redirect_uri": webCallback, "scope": "openid", "state": "s1", "nonce": "n1",
		"code_challenge": oauth2.S256ChallengeFromVerifier(verifier), "code_challenge_method": "S256",
	}))
	c := e.browser()
	form := openLink(t, c, e, link)
	for _, tc := range []struct {
		name string
		edit func(url.Values)
	}{
		{"another registered callback", func(v url.Values) { v.Set("redirect_uri", "https://app.example.com/second-callback") }},
		{"implicit instead of code", func(v url.Values) { v.Set("response_type", "id_token token") }},
		{"form_post", func(v url.Values) { v.Set("response_mode", "form_post") }},
		{"a wider scope", func(v url.Values) { v.Set("scope", "openid offline_access") }},
		{"another state", func(v url.Values) { v.Set("state", "attacker") }},
		{"another nonce", func(v url.Values) { v.Set("nonce", "attacker") }},
		{"an audience", func(v url.Values) { v.Set("audience", "https://api.example.com/") }},
		{"another challenge", func(v url.Values) {
			v.Set("code_challenge", oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()))
		}},
		{"plain", func(v url.Values) { v.Set("code_challenge_method", "plain") }},
		{"no challenge", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }},
		{"no redirect_uri", func(v url.Values) { v.Del("redirect_uri") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := htmlForm{Action: form.Action, Fields: cloneValues(form.Fields)}
			tc.edit(f.Fields)
			res := submit(t, c, f)
			if res.Status == http.StatusFound && strings.Contains(res.Header.Get("Location"), "code=") {
				t.Fatalf("the altered link logged in: %s", res.Header.Get("Location"))
			}
			if res.Status == http.StatusFound || res.Status == http.StatusOK {
				// An error redirect is acceptable only to the link's own
				// callback, and never with credentials.
				if !strings.HasPrefix(res.Header.Get("Location"), webCallback+"?") {
					t.Fatalf("got %d Location %q", res.Status, res.Header.Get("Location"))
				}
				return
			}
			wantErrorPage(t, res)
		})
	}
	p := redirect(t, submit(t, c, form), webCallback+"?", false)
	if p.Get("state") != "s1" || p.Get("code") == "" {
		t.Fatalf("the link's own parameters: %v", p)
	}
	if r := e.exchange(p.Get("code"), "code_verifier", verifier); r.Status != 200 {
		t.Fatalf("exchange: %d %s", r.Status, r.Body)
	}
}

// TestMagicLink_AlteredDirectLinkIsRefused: on a connection that logs in on
// GET (link_confirmation false), an altered link is refused the same way.
func TestMagicLink_AlteredDirectLinkIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	body := linkBody(webClientID, "direct-bound@example.com", map[string]any{"redirect_uri": webCallback, "state": "s1"})
	body["connection"] = "email-direct"
	link := e.startLink(body)
	altered := *link
	q := altered.Query()
	q.Set("response_type", "token")
	q.Set("nonce", "n")
	altered.RawQuery = q.Encode()
	c := e.browser()
	res := browse(t, c, http.MethodGet, altered.String(), nil)
	if strings.Contains(res.Header.Get("Location"), "access_token") {
		t.Fatalf("the altered link gave tokens: %s", res.Header.Get("Location"))
	}
	wantErrorPage(t, res)
	p := redirect(t, browse(t, c, http.MethodGet, link.String(), nil), webCallback+"?", false)
	if p.Get("code") == "" || p.Get("state") != "s1" {
		t.Fatalf("the link itself: %v", p)
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, s := range v {
		out[k] = append([]string(nil), s...)
	}
	return out
}
