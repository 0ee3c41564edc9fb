package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// linkCode logs in through a magic link and returns the authorization code
// the callback receives.
func (e *env) linkCode(clientID, email string, authParams map[string]any) string {
	e.t.Helper()
	link := e.startLink(linkBody(clientID, email, authParams))
	b := e.browser()
	p := redirect(e.t, submit(e.t, b, openLink(e.t, b, e, link)), link.Query().Get("redirect_uri")+"?", false)
	if p.Get("code") == "" {
		e.t.Fatalf("no code in the callback: %v", p)
	}
	return p.Get("code")
}

// exchange redeems an authorization code; kv are form fields to set, or to
// drop when the value is empty.
func (e *env) exchange(code string, kv ...string) response {
	e.t.Helper()
	f := url.Values{
		"grant_type": {"authorization_code"}, "client_id": {webClientID}, "client_secret": {webSecret},
		"code": {code}, "redirect_uri": {webCallback},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			f.Del(kv[i])
		} else {
			f.Set(kv[i], kv[i+1])
		}
	}
	return e.postForm("/oauth/token", f)
}

const descBadCode = "Invalid authorization code"

func TestAuthCode_IsSingleUse(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.linkCode(webClientID, "once@example.com", map[string]any{"scope": "openid offline_access"})
	first := e.exchange(code)
	if first.Status != 200 || first.str("access_token") == "" || first.str("id_token") == "" {
		t.Fatalf("first use: %d %s", first.Status, first.Body)
	}
	if first.str("refresh_token") != "" {
		t.Errorf("a magic-link code yielded a refresh token")
	}
	if cc := first.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	wantError(t, e.exchange(code), 403, "invalid_grant", descBadCode)
	wantError(t, e.exchange(code), 403, "invalid_grant", descBadCode)
	wantError(t, e.exchange("not-a-code-at-all"), 403, "invalid_grant", descBadCode)
	wantCleanLog(t, e, code)
}

func TestAuthCode_PKCE(t *testing.T) {
	e := newEnv(t, envOptions{})
	public := func(kv ...string) []string {
		return append([]string{"client_id", nativeClientID, "client_secret", "", "redirect_uri", nativeCallback}, kv...)
	}
	s256 := func(email string) (code, verifier string) {
		verifier = oauth2.GenerateVerifier()
		code = e.linkCode(nativeClientID, email, map[string]any{
			"redirect_uri": nativeCallback, "code_challenge": oauth2.S256ChallengeFromVerifier(verifier), "code_challenge_method": "S256",
		})
		return code, verifier
	}

	t.Run("S256 for a public client", func(t *testing.T) {
		code, v := s256("pkce@example.com")
		r := e.exchange(code, public("code_verifier", v)...)
		if r.Status != 200 || r.str("access_token") == "" || r.str("refresh_token") != "" {
			t.Fatalf("exchange: %d %s", r.Status, r.Body)
		}
	})
	t.Run("wrong verifier", func(t *testing.T) {
		code, _ := s256("pkce@example.com")
		wantError(t, e.exchange(code, public("code_verifier", oauth2.GenerateVerifier())...), 403, "invalid_grant", "")
	})
	t.Run("no verifier", func(t *testing.T) {
		code, _ := s256("pkce@example.com")
		wantError(t, e.exchange(code, public()...), 403, "invalid_grant", "")
	})
	t.Run("the challenge instead of the verifier", func(t *testing.T) {
		code, v := s256("pkce@example.com")
		wantError(t, e.exchange(code, public("code_verifier", oauth2.S256ChallengeFromVerifier(v))...), 403, "invalid_grant", "")
	})
	t.Run("plain is refused by default", func(t *testing.T) {
		v := oauth2.GenerateVerifier()
		for _, method := range []string{"plain", ""} { // no method means plain (RFC 7636 §4.3)
			p := map[string]any{"redirect_uri": nativeCallback, "code_challenge": v}
			if method != "" {
				p["code_challenge_method"] = method
			}
			res := e.postJSON("/passwordless/start", linkBody(nativeClientID, "plain@example.com", p))
			wantError(t, res, 400, "bad.authParams", "code_challenge_method plain is not allowed (a missing method means plain): use S256")
		}
		var d struct {
			Methods []string `json:"code_challenge_methods_supported"`
		}
		if err := json.Unmarshal(e.get(".well-known/openid-configuration").Body, &d); err != nil || len(d.Methods) != 1 || d.Methods[0] != "S256" {
			t.Errorf("discovery code_challenge_methods_supported = %v (%v), want [S256]", d.Methods, err)
		}
	})
	t.Run("plain where the operator allows it", func(t *testing.T) {
		e := newEnv(t, envOptions{allowPlainPKCE: true})
		v := oauth2.GenerateVerifier()
		code := e.linkCode(nativeClientID, "plain@example.com", map[string]any{
			"redirect_uri": nativeCallback, "code_challenge": v, "code_challenge_method": "plain",
		})
		if r := e.exchange(code, public("code_verifier", v)...); r.Status != 200 {
			t.Fatalf("exchange: %d %s", r.Status, r.Body)
		}
	})
	t.Run("wrong verifier with x/oauth2", func(t *testing.T) {
		code, _ := s256("pkce@example.com")
		cfg := oauth2.Config{ClientID: nativeClientID, RedirectURL: nativeCallback,
			Endpoint: oauth2.Endpoint{TokenURL: e.URL + "oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
		_, err := cfg.Exchange(oauthContext(e), code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if re, ok := err.(*oauth2.RetrieveError); !ok || re.Response.StatusCode != 403 || re.ErrorCode != "invalid_grant" {
			t.Errorf("exchange with a wrong verifier: %v, want 403 invalid_grant", err)
		}
	})
}

func TestAuthCode_IsBoundToItsClientAndRedirectURI(t *testing.T) {
	e := newEnv(t, envOptions{})
	cases := []struct {
		name string
		kv   []string
	}{
		{"redeemed by another client", []string{"client_id", webBClientID, "client_secret", webBSecret}},
		{"redeemed by another client at its own callback", []string{"client_id", webBClientID, "client_secret", webBSecret, "redirect_uri", webBCallback}},
		{"another registered redirect_uri", []string{"redirect_uri", webCallback2}},
		{"redirect_uri in another case", []string{"redirect_uri", "https://app.example.com/Callback"}},
		{"no redirect_uri", []string{"redirect_uri", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code := e.linkCode(webClientID, "bound@example.com", nil)
			wantError(t, e.exchange(code, c.kv...), 403, "invalid_grant", "")
		})
	}
	t.Run("the right client without its secret", func(t *testing.T) {
		code := e.linkCode(webClientID, "bound@example.com", nil)
		wantError(t, e.exchange(code, "client_secret", ""), 401, "invalid_client", "")
		wantError(t, e.exchange(code, "client_secret", "wrong"), 401, "invalid_client", "")
		// Failed client authentication does not burn the code.
		if r := e.exchange(code); r.Status != 200 {
			t.Errorf("exchange after failed client authentication: %d %s", r.Status, r.Body)
		}
	})
	t.Run("a client without the grant", func(t *testing.T) {
		code := e.linkCode(webClientID, "bound@example.com", nil)
		wantError(t, e.exchange(code, "client_id", otherClientID, "client_secret", ""), 403, "unauthorized_client", "")
	})
	t.Run("the second redirect_uri when the code was issued for it", func(t *testing.T) {
		code := e.linkCode(webClientID, "bound@example.com", map[string]any{"redirect_uri": webCallback2})
		if r := e.exchange(code, "redirect_uri", webCallback2); r.Status != 200 {
			t.Errorf("exchange: %d %s", r.Status, r.Body)
		}
	})
	t.Run("missing code", func(t *testing.T) {
		wantError(t, e.exchange("", "code", ""), 400, "invalid_request", "")
	})
}

func TestAuthCode_ExpiresAfterSixtySeconds(t *testing.T) {
	e := newEnv(t, envOptions{})
	// The OAuth server's clock runs ahead on demand; it is set before any
	// request is made.
	var ahead atomic.Int64
	e.App.Server.OAuth.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }

	code := e.linkCode(webClientID, "slow@example.com", nil)
	ahead.Store(int64(55 * time.Second))
	if r := e.exchange(code); r.Status != 200 {
		t.Fatalf("exchange after 55 s: %d %s", r.Status, r.Body)
	}
	code = e.linkCode(webClientID, "slow@example.com", nil)
	ahead.Store(int64(55*time.Second + 61*time.Second))
	wantError(t, e.exchange(code), 403, "invalid_grant", descBadCode)
}

func TestAuthCode_OIDCClientLibraryAgainstAPublicClient(t *testing.T) {
	e := newEnv(t, envOptions{})
	v := oauth2.GenerateVerifier()
	code := e.linkCode(nativeClientID, "lib@example.com", map[string]any{
		"redirect_uri": nativeCallback, "scope": "openid email", "nonce": "abc",
		"code_challenge": oauth2.S256ChallengeFromVerifier(v), "code_challenge_method": "S256",
	})
	cfg := oauth2.Config{ClientID: nativeClientID, RedirectURL: nativeCallback,
		Endpoint: oauth2.Endpoint{TokenURL: e.URL + "oauth/token"}}
	tok, err := cfg.Exchange(oauthContext(e), code, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	id, _ := tok.Extra("id_token").(string)
	c := jwtClaims(t, id)
	if c["nonce"] != "abc" || c["aud"] != nativeClientID || c["email"] != "lib@example.com" || tok.RefreshToken != "" {
		t.Errorf("claims %v, refresh token %q", c, tok.RefreshToken)
	}
	if !strings.Contains(tok.Type(), "Bearer") {
		t.Errorf("token type %q", tok.Type())
	}
	if res := e.get("/userinfo", bearer(tok.AccessToken)); res.Status != http.StatusOK {
		t.Errorf("userinfo: %d %s", res.Status, res.Body)
	}
}

func TestAuthCode_ConcurrentExchangesRedeemOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.linkCode(webClientID, "racecode@example.com", nil)
	const n = 8
	statuses := make(chan int, n)
	for i := 0; i < n; i++ {
		go func() {
			res, err := e.HTTP.PostForm(e.URL+"oauth/token", url.Values{
				"grant_type": {"authorization_code"}, "client_id": {webClientID}, "client_secret": {webSecret},
				"code": {code}, "redirect_uri": {webCallback},
			})
			if err != nil {
				statuses <- 0
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	ok := 0
	for i := 0; i < n; i++ {
		switch s := <-statuses; s {
		case 200:
			ok++
		case 403:
		default:
			t.Errorf("status %d", s)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent exchanges of one code succeeded, want 1", ok, n)
	}
}
