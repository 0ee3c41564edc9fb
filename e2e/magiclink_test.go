package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/sesame-id/sesame/internal/smtptest"
	"golang.org/x/oauth2"
)

// The magic-link tests drive verify_redirect the way a browser does: no
// automatic redirects, cookies kept, the confirmation page's form submitted
// as the page says.

const (
	webCallback    = "https://app.example.com/callback"
	webCallback2   = "https://app.example.com/second-callback"
	webBCallback   = "https://b.example.com/callback"
	nativeCallback = "com.example.native://callback"
)

// browser is an HTTP client that keeps cookies and stops at redirects, so
// that a test sees every Location.
func (e *env) browser() *http.Client {
	e.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := *e.HTTP
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// browse sends one request with a browser client.
func browse(t *testing.T, c *http.Client, method, target string, form url.Values) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// linkBody is a /passwordless/start body that leaves send out, so that the
// default (a link) applies.
func linkBody(clientID, email string, authParams map[string]any) map[string]any {
	b := map[string]any{"client_id": clientID, "connection": "email", "email": email}
	switch clientID {
	case webClientID:
		b["client_secret"] = webSecret
	case webBClientID:
		b["client_secret"] = webBSecret
	}
	if authParams != nil {
		b["authParams"] = authParams
	}
	return b
}

// startLink asks for a magic link and returns it from the mail.
func (e *env) startLink(body map[string]any) *url.URL {
	e.t.Helper()
	before := len(e.SMTP.Messages())
	res := e.postJSON("/passwordless/start", body)
	if res.Status != http.StatusOK {
		e.t.Fatalf("start: %d %s", res.Status, res.Body)
	}
	msgs := e.SMTP.Wait(e.t, before+1, 10*time.Second)
	return e.linkFrom(msgs[len(msgs)-1])
}

var (
	hrefRE      = regexp.MustCompile(`href="([^"]*passwordless/verify_redirect\?[^"]*)"`)
	textLinkRE  = regexp.MustCompile(`https?://[^\s<>"]*passwordless/verify_redirect\?[^\s<>"]*`)
	formRE      = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	inputRE     = regexp.MustCompile(`<input\b[^>]*>`)
	attributeRE = regexp.MustCompile(`([a-zA-Z_-]+)="([^"]*)"`)
)

// linkFrom finds the magic link in a mail: an href in the HTML part, and
// the same URL in the text part.
func (e *env) linkFrom(m smtptest.Message) *url.URL {
	e.t.Helper()
	h := hrefRE.FindStringSubmatch(m.HTML)
	if h == nil {
		e.t.Fatalf("no link in the HTML part: %q", m.HTML)
	}
	link := html.UnescapeString(h[1])
	text := textLinkRE.FindString(m.Text)
	if text != link {
		e.t.Errorf("the text part shows %q, the HTML part links to %q", text, link)
	}
	if !strings.HasPrefix(link, e.URL+"passwordless/verify_redirect?") {
		e.t.Fatalf("link %q does not point at %spasswordless/verify_redirect", link, e.URL)
	}
	u, err := url.Parse(link)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func attributes(tag string) map[string]string {
	a := map[string]string{}
	for _, m := range attributeRE.FindAllStringSubmatch(tag, -1) {
		a[strings.ToLower(m[1])] = html.UnescapeString(m[2])
	}
	return a
}

// htmlForm is the one form of a page.
type htmlForm struct {
	Method, Action string
	Fields         url.Values // hidden inputs
	Body           string     // what is between <form> and </form>
}

func parseForm(t *testing.T, page []byte) htmlForm {
	t.Helper()
	forms := formRE.FindAllStringSubmatch(string(page), -1)
	if len(forms) != 1 {
		t.Fatalf("page has %d forms, want 1:\n%s", len(forms), page)
	}
	a := attributes(forms[0][1])
	f := htmlForm{Method: strings.ToLower(a["method"]), Action: a["action"], Fields: url.Values{}, Body: forms[0][2]}
	for _, in := range inputRE.FindAllString(forms[0][2], -1) {
		ia := attributes(in)
		if ia["type"] == "hidden" {
			f.Fields.Add(ia["name"], ia["value"])
		}
	}
	return f
}

// openLink GETs a link as a browser and checks that the answer is the
// confirmation page (spec: nothing consumed, one form, no script), whose
// form it returns.
func openLink(t *testing.T, c *http.Client, e *env, link *url.URL) htmlForm {
	t.Helper()
	res := browse(t, c, http.MethodGet, link.String(), nil)
	if res.Status != http.StatusOK || res.Header.Get("Location") != "" {
		t.Fatalf("GET link: %d (Location %q) %s", res.Status, res.Header.Get("Location"), res.Body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET link: Content-Type %q", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("GET link: Cache-Control %q, want no-store", cc)
	}
	if rp := res.Header.Get("Referrer-Policy"); rp != "no-referrer" {
		t.Errorf("GET link: Referrer-Policy %q, want no-referrer", rp)
	}
	if len(res.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("GET link set a cookie: %v", res.Header.Values("Set-Cookie"))
	}
	if strings.Contains(strings.ToLower(string(res.Body)), "<script") {
		t.Errorf("the confirmation page has a script; it must work without JavaScript:\n%s", res.Body)
	}
	f := parseForm(t, res.Body)
	if f.Method != "post" || f.Action != e.URL+"passwordless/verify_redirect" {
		t.Errorf("form method=%q action=%q, want post to %spasswordless/verify_redirect", f.Method, f.Action, e.URL)
	}
	if !strings.Contains(strings.ToLower(f.Body), "<button") && !strings.Contains(f.Body, `type="submit"`) {
		t.Errorf("the form has no button")
	}
	if q := link.Query(); !sameValues(f.Fields, q) {
		t.Errorf("hidden fields %v, want the link's parameters %v", f.Fields, q)
	}
	return f
}

func sameValues(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a.Get(k) != b.Get(k) || len(a[k]) != len(b[k]) {
			return false
		}
	}
	return true
}

// submit presses the page's button.
func submit(t *testing.T, c *http.Client, f htmlForm) response {
	t.Helper()
	return browse(t, c, http.MethodPost, f.Action, f.Fields)
}

// redirect checks a 302 to prefix and returns the parameters of its query
// (or of its fragment when fragment is set).
func redirect(t *testing.T, res response, prefix string, fragment bool) url.Values {
	t.Helper()
	loc := res.Header.Get("Location")
	if res.Status != http.StatusFound || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("got %d Location %q, want 302 to %s…\n%s", res.Status, loc, prefix, res.Body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if fragment {
		if u.RawQuery != "" {
			t.Errorf("tokens or errors in the query of %q", loc)
		}
		v, err := url.ParseQuery(u.Fragment)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if u.Fragment != "" {
		t.Errorf("unexpected fragment in %q", loc)
	}
	return u.Query()
}

// wantDenied checks an error redirect to the callback.
func wantDenied(t *testing.T, res response, callback string, fragment bool, state, desc string) {
	t.Helper()
	p := redirect(t, res, callback, fragment)
	if p.Get("error") != "access_denied" || p.Get("error_description") != desc || p.Get("state") != state {
		t.Errorf("error redirect %v, want access_denied %q with state %q", p, desc, state)
	}
	if p.Get("code") != "" || p.Get("access_token") != "" || p.Get("id_token") != "" {
		t.Errorf("an error redirect carries credentials: %v", p)
	}
}

// wantErrorPage checks a 400 HTML page that sends the browser nowhere.
func wantErrorPage(t *testing.T, res response) {
	t.Helper()
	if res.Status != http.StatusBadRequest || res.Header.Get("Location") != "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("got %d Location %q Content-Type %q, want a 400 HTML error page", res.Status, res.Header.Get("Location"), res.Header.Get("Content-Type"))
	}
	if strings.Contains(string(res.Body), "verification_code") {
		t.Errorf("the error page repeats the link's parameters")
	}
}

// wantCleanLog checks that no log line carries a code or a link.
func wantCleanLog(t *testing.T, e *env, codes ...string) {
	t.Helper()
	logs := e.logs.String()
	if strings.Contains(logs, "verification_code") {
		t.Errorf("the server log contains verification_code")
	}
	for _, c := range codes {
		if c != "" && strings.Contains(logs, c) {
			t.Errorf("the server log contains the code %s", c)
		}
	}
}

// oauthContext makes x/oauth2 and go-oidc talk to the test server with
// its client.
func oauthContext(e *env) context.Context {
	ctx := oidc.ClientContext(context.Background(), e.HTTP)
	return context.WithValue(ctx, oauth2.HTTPClient, e.HTTP)
}

func sessionCookie(t *testing.T, res response) *http.Cookie {
	t.Helper()
	for _, line := range res.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == "sesame_session" {
			return c
		}
	}
	t.Fatalf("no sesame_session cookie in %v", res.Header.Values("Set-Cookie"))
	return nil
}

func TestMagicLink_CodeFlowWithPKCEEndToEnd(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := oauthContext(e)
	verifier := oauth2.GenerateVerifier()

	link := e.startLink(linkBody(webClientID, "Link.User@Example.com", map[string]any{
		"redirect_uri": webCallback, "scope": "openid profile email offline_access",
		"state": "st-123 with spaces&amp", "nonce": "n-0S6_WzA2Mj",
		"code_challenge": oauth2.S256ChallengeFromVerifier(verifier), "code_challenge_method": "S256",
		"_csrf": "csrf-token", "_intstate": "deprecated", "protocol": "oauth2", "auth0Client": "eyJuYW1lIjoidGVzdCJ9",
	}))
	q := link.Query()
	for k, want := range map[string]string{
		"client_id": webClientID, "connection": "email", "email": "link.user@example.com",
		"redirect_uri": webCallback, "response_type": "code", "scope": "openid profile email offline_access",
		"state": "st-123 with spaces&amp", "nonce": "n-0S6_WzA2Mj", "code_challenge_method": "S256",
		"code_challenge": oauth2.S256ChallengeFromVerifier(verifier),
		"_csrf":          "csrf-token", "_intstate": "deprecated", "protocol": "oauth2", "auth0Client": "eyJuYW1lIjoidGVzdCJ9",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("link %s = %q, want %q", k, got, want)
		}
	}
	code := q.Get("verification_code")
	if !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
		t.Fatalf("verification_code = %q, want the 6-digit code", code)
	}

	// A mail scanner and then the user open the link: each sees the page,
	// and nothing is used up.
	scanner := e.browser()
	openLink(t, scanner, e, link)
	if res := browse(t, scanner, http.MethodHead, link.String(), nil); res.Status != http.StatusOK {
		t.Errorf("HEAD link: %d", res.Status)
	}
	b := e.browser()
	openLink(t, b, e, link) // a second GET by the same browser still shows the page
	form := openLink(t, b, e, link)

	res := submit(t, b, form)
	p := redirect(t, res, webCallback+"?", false)
	if p.Get("state") != "st-123 with spaces&amp" || p.Get("code") == "" {
		t.Fatalf("callback parameters %v", p)
	}
	for _, k := range []string{"access_token", "id_token", "refresh_token", "error"} {
		if p.Get(k) != "" {
			t.Errorf("the code response carries %s", k)
		}
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("redirect Cache-Control %q, want no-store", cc)
	}
	cookie := sessionCookie(t, res)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Value == "" {
		t.Errorf("session cookie %+v, want HttpOnly, SameSite=Lax", cookie)
	}

	// A real OAuth client redeems the code with its PKCE verifier.
	cfg := oauth2.Config{
		ClientID: webClientID, ClientSecret: webSecret, RedirectURL: webCallback,
		Endpoint: oauth2.Endpoint{TokenURL: e.URL + "oauth/token"},
	}
	tok, err := cfg.Exchange(ctx, p.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
		t.Errorf("token %+v", tok)
	}
	if tok.RefreshToken != "" {
		t.Errorf("a magic-link login returned a refresh token")
	}
	if s, _ := tok.Extra("scope").(string); strings.Contains(s, "offline_access") {
		t.Errorf("scope %q grants offline_access", s)
	}
	rawID, _ := tok.Extra("id_token").(string)
	provider, err := oidc.NewProvider(ctx, e.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: webClientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	if idt.Nonce != "n-0S6_WzA2Mj" {
		t.Errorf("nonce %q", idt.Nonce)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(idt.Subject, "email|") || claims.Email != "link.user@example.com" || !claims.EmailVerified {
		t.Errorf("sub %q, claims %+v", idt.Subject, claims)
	}
	ui := e.get("/userinfo", bearer(tok.AccessToken))
	if ui.Status != 200 || ui.str("sub") != idt.Subject {
		t.Errorf("userinfo: %d %s", ui.Status, ui.Body)
	}

	// The link, the page and the code are spent.
	wantDenied(t, submit(t, b, form), webCallback+"?", false, "st-123 with spaces&amp", descWrong)
	_, err = cfg.Exchange(ctx, p.Get("code"), oauth2.VerifierOption(verifier))
	if re, ok := err.(*oauth2.RetrieveError); !ok || re.Response.StatusCode != 403 || re.ErrorCode != "invalid_grant" || re.ErrorDescription != "Invalid authorization code" {
		t.Errorf("second exchange: %v, want 403 invalid_grant Invalid authorization code", err)
	}
	wantCleanLog(t, e, code)
}

func TestMagicLink_SendVariantsAndDefaults(t *testing.T) {
	e := newEnv(t, envOptions{})
	// link_ios and link_android give app links instead (applinks_test.go).
	for _, send := range []string{"", "link"} {
		t.Run("send="+send, func(t *testing.T) {
			body := linkBody(webClientID, "variants@example.com", nil)
			if send != "" {
				body["send"] = send
			}
			link := e.startLink(body)
			q := link.Query()
			// Without authParams the link falls back to the client's first
			// callback and Auth0's default response_type.
			if q.Get("client_id") != webClientID || q.Get("connection") != "email" || q.Get("email") != "variants@example.com" ||
				q.Get("redirect_uri") != webCallback || q.Get("response_type") != "code" || q.Get("verification_code") == "" {
				t.Errorf("link parameters %v", q)
			}
			b := e.browser()
			p := redirect(t, submit(t, b, openLink(t, b, e, link)), webCallback+"?", false)
			if p.Get("code") == "" || p.Has("state") {
				t.Errorf("callback parameters %v", p)
			}
			ex := e.postForm("/oauth/token", url.Values{
				"grant_type": {"authorization_code"}, "client_id": {webClientID}, "client_secret": {webSecret},
				"code": {p.Get("code")}, "redirect_uri": {webCallback},
			})
			if ex.Status != 200 || ex.str("access_token") == "" || ex.str("refresh_token") != "" {
				t.Errorf("exchange: %d %s", ex.Status, ex.Body)
			}
		})
	}
}

func TestMagicLink_ImplicitFragment(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := oidc.ClientContext(context.Background(), e.HTTP)
	provider, err := oidc.NewProvider(ctx, e.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: webClientID})
	for _, rt := range []string{"token id_token", "id_token token", "id_token", "token"} {
		t.Run(rt, func(t *testing.T) {
			email := strings.ReplaceAll(rt, " ", "-") + "@example.com"
			link := e.startLink(linkBody(webClientID, email, map[string]any{
				"redirect_uri": webCallback, "response_type": rt, "scope": "openid email offline_access",
				"state": "xyz", "nonce": "nonce-" + rt,
			}))
			b := e.browser()
			res := submit(t, b, openLink(t, b, e, link))
			p := redirect(t, res, webCallback+"#", true)
			sessionCookie(t, res)
			if p.Get("state") != "xyz" || p.Get("refresh_token") != "" || p.Get("code") != "" {
				t.Errorf("fragment %v", p)
			}
			wantAT := strings.Contains(rt, "token") && rt != "id_token"
			wantID := strings.Contains(rt, "id_token")
			at := p.Get("access_token")
			if (at != "") != wantAT {
				t.Errorf("access_token present = %v, want %v", at != "", wantAT)
			}
			if wantAT && (p.Get("token_type") != "Bearer" || p.Get("expires_in") != "86400" || strings.Contains(p.Get("scope"), "offline_access")) {
				t.Errorf("token_type %q expires_in %q scope %q", p.Get("token_type"), p.Get("expires_in"), p.Get("scope"))
			}
			raw := p.Get("id_token")
			if (raw != "") != wantID {
				t.Fatalf("id_token present = %v, want %v", raw != "", wantID)
			}
			if !wantID {
				return
			}
			idt, err := verifier.Verify(ctx, raw)
			if err != nil {
				t.Fatalf("verify ID token: %v", err)
			}
			if idt.Nonce != "nonce-"+rt {
				t.Errorf("nonce %q", idt.Nonce)
			}
			if !wantAT {
				if idt.AccessTokenHash != "" {
					t.Errorf("at_hash without an access token")
				}
				return
			}
			sum := sha256.Sum256([]byte(at))
			if want := base64.RawURLEncoding.EncodeToString(sum[:16]); idt.AccessTokenHash != want {
				t.Errorf("at_hash %q, want %q", idt.AccessTokenHash, want)
			}
			if err := idt.VerifyAccessToken(at); err != nil {
				t.Errorf("go-oidc at_hash check: %v", err)
			}
			if ui := e.get("/userinfo", bearer(at)); ui.Status != 200 || ui.str("sub") != idt.Subject {
				t.Errorf("userinfo: %d %s", ui.Status, ui.Body)
			}
		})
	}
}

func TestMagicLink_FormPost(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, rt := range []string{"code", "token id_token"} {
		t.Run(rt, func(t *testing.T) {
			link := e.startLink(linkBody(webClientID, "formpost@example.com", map[string]any{
				"redirect_uri": webCallback, "response_type": rt, "response_mode": "form_post",
				"scope": "openid", "state": "fp-state", "nonce": "fp-nonce",
			}))
			if link.Query().Get("response_mode") != "form_post" {
				t.Errorf("link response_mode %q", link.Query().Get("response_mode"))
			}
			b := e.browser()
			res := submit(t, b, openLink(t, b, e, link))
			if res.Status != 200 || res.Header.Get("Location") != "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("form_post answer: %d Location %q %s", res.Status, res.Header.Get("Location"), res.Body)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			sessionCookie(t, res)
			f := parseForm(t, res.Body)
			if f.Method != "post" || f.Action != webCallback || f.Fields.Get("state") != "fp-state" || f.Fields.Has("refresh_token") {
				t.Fatalf("form_post form %+v", f)
			}
			if rt == "code" {
				ex := e.postForm("/oauth/token", url.Values{
					"grant_type": {"authorization_code"}, "client_id": {webClientID}, "client_secret": {webSecret},
					"code": {f.Fields.Get("code")}, "redirect_uri": {webCallback},
				})
				if ex.Status != 200 || jwtClaims(t, ex.str("id_token"))["nonce"] != "fp-nonce" {
					t.Errorf("exchange: %d %s", ex.Status, ex.Body)
				}
				return
			}
			if f.Fields.Get("access_token") == "" || f.Fields.Get("token_type") != "Bearer" || f.Fields.Get("expires_in") == "" {
				t.Errorf("form_post fields %v", f.Fields)
			}
			c := jwtClaims(t, f.Fields.Get("id_token"))
			sum := sha256.Sum256([]byte(f.Fields.Get("access_token")))
			if c["nonce"] != "fp-nonce" || c["at_hash"] != base64.RawURLEncoding.EncodeToString(sum[:16]) {
				t.Errorf("ID token claims %v", c)
			}
		})
	}
}

func TestMagicLink_StartRefusesBadAuthParamsAndSendsNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	cases := []struct {
		name       string
		client     string
		authParams map[string]any
		why        string // in the error_description
	}{
		{"unregistered redirect_uri", webClientID, map[string]any{"redirect_uri": "https://evil.example.com/callback"}, "Callback URL mismatch"},
		{"redirect_uri host in another case", webClientID, map[string]any{"redirect_uri": "https://APP.example.com/callback"}, "Callback URL mismatch"},
		{"redirect_uri path in another case", webClientID, map[string]any{"redirect_uri": "https://app.example.com/Callback"}, "Callback URL mismatch"},
		{"redirect_uri with an extra path", webClientID, map[string]any{"redirect_uri": "https://app.example.com/callback/extra"}, "Callback URL mismatch"},
		{"redirect_uri with a trailing slash", webClientID, map[string]any{"redirect_uri": "https://app.example.com/callback/"}, "Callback URL mismatch"},
		{"redirect_uri with a query", webClientID, map[string]any{"redirect_uri": "https://app.example.com/callback?next=https://evil.example.com"}, "Callback URL mismatch"},
		{"javascript: redirect_uri", webClientID, map[string]any{"redirect_uri": "javascript:alert(document.cookie)"}, "Callback URL mismatch"},
		{"another client's redirect_uri", webClientID, map[string]any{"redirect_uri": webBCallback}, "Callback URL mismatch"},
		{"id_token without nonce", webClientID, map[string]any{"response_type": "id_token", "redirect_uri": webCallback}, "nonce"},
		{"token id_token without nonce", webClientID, map[string]any{"response_type": "token id_token"}, "nonce"},
		{"unknown response_type", webClientID, map[string]any{"response_type": "password"}, "response type"},
		{"public client without PKCE", nativeClientID, map[string]any{"redirect_uri": nativeCallback}, "code_challenge"},
		{"unknown audience", webClientID, map[string]any{"audience": "https://nope.example.com/"}, "Service not found"},
		{"implicit for a client without the grant", nativeClientID, map[string]any{"redirect_uri": nativeCallback, "response_type": "token"}, "Grant type 'implicit' not allowed"},
		{"code for a client without the grant", spaClientID, map[string]any{"response_type": "code", "code_challenge": strings.Repeat("a", 43)}, "Grant type 'authorization_code' not allowed"},
		{"unsupported code_challenge_method", nativeClientID, map[string]any{"redirect_uri": nativeCallback, "code_challenge": strings.Repeat("a", 43), "code_challenge_method": "S512"}, "code_challenge_method"},
		{"authParams value of a wrong type", webClientID, map[string]any{"state": map[string]any{"a": 1}}, "authParams.state"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.postJSON("/passwordless/start", linkBody(c.client, "nomail@example.com", c.authParams))
			wantError(t, r, 400, "bad.authParams", "")
			if !strings.Contains(r.str("error_description"), c.why) {
				t.Errorf("error_description %q, want it to name %q", r.str("error_description"), c.why)
			}
		})
	}
	// A send=code request does not care about the link's parameters.
	code := e.postJSON("/passwordless/start", map[string]any{
		"client_id": webClientID, "client_secret": webSecret, "connection": "email", "email": "nomail@example.com",
		"send": "code", "authParams": map[string]any{"redirect_uri": "https://evil.example.com/"},
	})
	if code.Status != 200 {
		t.Errorf("send=code with authParams the link would refuse: %d %s", code.Status, code.Body)
	}
	msgs := e.SMTP.Wait(t, 1, 10*time.Second)
	time.Sleep(100 * time.Millisecond)
	if n := len(e.SMTP.Messages()); n != 1 || strings.Contains(msgs[0].Text, "verify_redirect") {
		t.Errorf("%d messages sent, want only the code mail", n)
	}
}

func TestMagicLink_GetAndHeadNeverConsume(t *testing.T) {
	e := newEnv(t, envOptions{})
	link := e.startLink(linkBody(webClientID, "scanned@example.com", map[string]any{"state": "s1"}))
	code := link.Query().Get("verification_code")

	// Scanners with a wrong code in the URL, or fetching the real one again
	// and again, use none of the code's three tries.
	wrong := *link
	q := wrong.Query()
	q.Set("verification_code", wrongCode(code))
	wrong.RawQuery = q.Encode()
	scanner := e.browser()
	for i := 0; i < 5; i++ {
		openLink(t, scanner, e, &wrong)
		openLink(t, scanner, e, link)
		if res := browse(t, scanner, http.MethodHead, wrong.String(), nil); res.Status != 200 || len(res.Body) != 0 {
			t.Errorf("HEAD: %d %q", res.Status, res.Body)
		}
	}
	b := e.browser()
	p := redirect(t, submit(t, b, openLink(t, b, e, link)), webCallback+"?", false)
	if p.Get("code") == "" || p.Get("state") != "s1" {
		t.Fatalf("after many GETs the link no longer works: %v", p)
	}
	wantCleanLog(t, e, code)
}

func TestMagicLink_WrongCodeInThePostIsATry(t *testing.T) {
	e := newEnv(t, envOptions{})
	link := e.startLink(linkBody(webClientID, "tries@example.com", map[string]any{"state": "s2"}))
	b := e.browser()
	form := openLink(t, b, e, link)
	code := form.Fields.Get("verification_code")
	bad := htmlForm{Action: form.Action, Fields: url.Values{}}
	for k, v := range form.Fields {
		bad.Fields[k] = v
	}
	bad.Fields.Set("verification_code", wrongCode(code))
	for i := 0; i < 3; i++ {
		res := submit(t, b, bad)
		wantDenied(t, res, webCallback+"?", false, "s2", descWrong)
		if len(res.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("a failed login set a cookie")
		}
	}
	wantDenied(t, submit(t, b, form), webCallback+"?", false, "s2", descMax)
	wantCleanLog(t, e, code)
}

func TestMagicLink_FailuresOfImplicitLinksGoToTheFragment(t *testing.T) {
	e := newEnv(t, envOptions{})
	link := e.startLink(linkBody(webClientID, "frag@example.com", map[string]any{
		"response_type": "token id_token", "nonce": "n", "state": "s3",
	}))
	b := e.browser()
	form := openLink(t, b, e, link)
	form.Fields.Set("verification_code", wrongCode(form.Fields.Get("verification_code")))
	wantDenied(t, submit(t, b, form), webCallback+"#", true, "s3", descWrong)
}

func TestMagicLink_Expires(t *testing.T) {
	e := newEnv(t, envOptions{timeStep: 1})
	link := e.startLink(linkBody(webClientID, "late@example.com", map[string]any{"state": "s4"}))
	b := e.browser()
	time.Sleep(1100 * time.Millisecond)
	// The page still opens: a GET checks nothing.
	form := openLink(t, b, e, link)
	wantDenied(t, submit(t, b, form), webCallback+"?", false, "s4", descExpired)
}

func TestMagicLink_ReplacedByANewerCodeAndSharedWithTheOTPGrant(t *testing.T) {
	e := newEnv(t, envOptions{})
	// The link's code is the code: the OTP grant takes it, and then the
	// link is spent.
	link := e.startLink(linkBody(webClientID, "shared@example.com", map[string]any{"state": "s5"}))
	code := link.Query().Get("verification_code")
	b := e.browser()
	form := openLink(t, b, e, link)
	if r := e.otp(webClientID, "shared@example.com", code, "openid"); r.Status != 200 {
		t.Fatalf("the link's code at the OTP grant: %d %s", r.Status, r.Body)
	}
	wantDenied(t, submit(t, b, form), webCallback+"?", false, "s5", descWrong)

	// Only the newest code or link works.
	link = e.startLink(linkBody(webClientID, "shared@example.com", map[string]any{"state": "s6"}))
	form = openLink(t, b, e, link)
	newer := e.startCode(webClientID, "shared@example.com")
	if newer != link.Query().Get("verification_code") {
		wantDenied(t, submit(t, b, form), webCallback+"?", false, "s6", descWrong)
	}
	// Wrong tries at the OTP grant count against a link sent later too.
	link = e.startLink(linkBody(webClientID, "shared@example.com", map[string]any{"state": "s7"}))
	form = openLink(t, b, e, link)
	for i := 0; i < 3; i++ {
		wantError(t, e.otp(webClientID, "shared@example.com", wrongCode(link.Query().Get("verification_code")), ""), 403, "invalid_grant", descWrong)
	}
	wantDenied(t, submit(t, b, form), webCallback+"?", false, "s7", descMax)
}

func TestMagicLink_TamperedLinksGetAnErrorPageNotARedirect(t *testing.T) {
	e := newEnv(t, envOptions{})
	link := e.startLink(linkBody(webClientID, "tamper@example.com", map[string]any{"state": "s8"}))
	with := func(kv ...string) *url.URL {
		u := *link
		q := u.Query()
		for i := 0; i+1 < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		u.RawQuery = q.Encode()
		return &u
	}
	cases := []struct {
		name string
		link *url.URL
	}{
		{"unknown client", with("client_id", "nope")},
		{"unregistered redirect_uri", with("redirect_uri", "https://evil.example.com/callback")},
		{"redirect_uri in another case", with("redirect_uri", "https://app.example.com/CALLBACK")},
		{"redirect_uri with an extra path", with("redirect_uri", "https://app.example.com/callback/x")},
		{"javascript: redirect_uri", with("redirect_uri", "javascript:alert(1)")},
		{"client B's redirect_uri in client A's link", with("redirect_uri", webBCallback)},
		{"unknown connection", with("connection", "nope")},
	}
	b := e.browser()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErrorPage(t, browse(t, b, http.MethodGet, c.link.String(), nil))
			wantErrorPage(t, browse(t, b, http.MethodPost, e.URL+"passwordless/verify_redirect", c.link.Query()))
		})
	}
	// The code was not used up by any of these.
	p := redirect(t, submit(t, b, openLink(t, b, e, link)), webCallback+"?", false)
	if p.Get("code") == "" {
		t.Fatalf("callback parameters %v", p)
	}

	// Client A's link moved to client B as a whole: B's callback is
	// registered, so B hears of the failure, but no code is issued.
	link = e.startLink(linkBody(webClientID, "tamper@example.com", map[string]any{"state": "s9"}))
	u := *link
	q := u.Query()
	q.Set("client_id", webBClientID)
	q.Set("redirect_uri", webBCallback)
	u.RawQuery = q.Encode()
	wantDenied(t, submit(t, b, openLink(t, b, e, &u)), webBCallback+"?", false, "s9", descWrong)
}

func TestMagicLink_OneStepModeLogsInOnGet(t *testing.T) {
	e := newEnv(t, envOptions{})
	body := map[string]any{
		"client_id": webClientID, "client_secret": webSecret, "connection": "email-direct",
		"email": "direct@example.com", "send": "link", "authParams": map[string]any{"scope": "openid profile"},
	}
	res := e.postJSON("/passwordless/start", body)
	if res.Status != 200 {
		t.Fatalf("start: %d %s", res.Status, res.Body)
	}
	m := e.SMTP.Wait(t, 1, 10*time.Second)[0]
	link := e.linkFrom(m)
	q := link.Query()
	// The connection's authParams are defaults; the request's win.
	if q.Get("connection") != "email-direct" || q.Get("scope") != "openid profile" || q.Get("state") != "from-the-connection" {
		t.Errorf("link parameters %v", q)
	}
	// The template's {{ code }} is the link's verification_code, and it
	// sees the send value.
	if !strings.Contains(m.HTML, "Your code is "+q.Get("verification_code")+" (link).") {
		t.Errorf("HTML part %q does not show the link's code and send value", m.HTML)
	}

	b := e.browser()
	for i := 0; i < 3; i++ {
		if h := browse(t, b, http.MethodHead, link.String(), nil); h.Status != 200 || h.Header.Get("Location") != "" {
			t.Errorf("HEAD: %d Location %q", h.Status, h.Header.Get("Location"))
		}
	}
	res = browse(t, b, http.MethodGet, link.String(), nil)
	p := redirect(t, res, webCallback+"?", false)
	if p.Get("code") == "" || p.Get("state") != "from-the-connection" {
		t.Fatalf("callback parameters %v", p)
	}
	c := sessionCookie(t, res)
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie %+v", c)
	}
	wantDenied(t, browse(t, b, http.MethodGet, link.String(), nil), webCallback+"?", false, "from-the-connection", descWrong)
	wantCleanLog(t, e, q.Get("verification_code"))
}

func TestMagicLink_SessionCookieIsSecureOverHTTPS(t *testing.T) {
	e := newEnv(t, envOptions{tls: true})
	link := e.startLink(linkBody(webClientID, "secure@example.com", nil))
	if link.Scheme != "https" {
		t.Fatalf("link %s is not https", link)
	}
	b := e.browser()
	res := submit(t, b, openLink(t, b, e, link))
	redirect(t, res, webCallback+"?", false)
	c := sessionCookie(t, res)
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie %+v, want Secure, HttpOnly, SameSite=Lax", c)
	}
}

func TestMagicLink_FormPostFailureIsPostedToo(t *testing.T) {
	e := newEnv(t, envOptions{})
	link := e.startLink(linkBody(webClientID, "fpfail@example.com", map[string]any{"response_mode": "form_post", "state": "s10"}))
	b := e.browser()
	form := openLink(t, b, e, link)
	form.Fields.Set("verification_code", wrongCode(form.Fields.Get("verification_code")))
	res := submit(t, b, form)
	if res.Status != 200 || res.Header.Get("Location") != "" {
		t.Fatalf("form_post failure: %d Location %q", res.Status, res.Header.Get("Location"))
	}
	f := parseForm(t, res.Body)
	if f.Action != webCallback || f.Fields.Get("error") != "access_denied" || f.Fields.Get("error_description") != descWrong || f.Fields.Get("state") != "s10" {
		t.Errorf("form_post failure form %+v", f)
	}
}

// Two tabs (or a scanner that presses buttons and the user) racing on one
// link: exactly one wins.
func TestMagicLink_ConcurrentPostsLogInOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	link := e.startLink(linkBody(webClientID, "race@example.com", nil))
	form := openLink(t, e.browser(), e, link)
	const n = 8
	results := make(chan string, n)
	for i := 0; i < n; i++ {
		go func() {
			c := e.browser()
			res, err := c.PostForm(form.Action, form.Fields)
			if err != nil {
				results <- "error: " + err.Error()
				return
			}
			res.Body.Close()
			results <- res.Header.Get("Location")
		}()
	}
	codes := 0
	for i := 0; i < n; i++ {
		loc, _ := url.Parse(<-results)
		if loc != nil && loc.Query().Get("code") != "" {
			codes++
		} else if loc == nil || loc.Query().Get("error") != "access_denied" {
			t.Errorf("unexpected answer %v", loc)
		}
	}
	if codes != 1 {
		t.Errorf("%d of %d concurrent POSTs of one link logged in, want 1", codes, n)
	}
}
