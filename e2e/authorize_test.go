package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/store"
)

// browser is an HTTP client with a cookie jar that does not follow
// redirects: a browser as the tests drive it, one request at a time.
type browser struct {
	e      *env
	client *http.Client
	ua     string
}

func (e *env) pageBrowser() *browser { return &browser{e: e, client: e.browser()} }

type page struct {
	Status   int
	Location string
	Header   http.Header
	Body     string
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	if b.ua != "" {
		req.Header.Set("User-Agent", b.ua)
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{Status: res.StatusCode, Location: res.Header.Get("Location"), Header: res.Header, Body: string(body)}
}

// get fetches a path of the server or an absolute URL.
func (b *browser) get(u string, mods ...func(*http.Request)) page {
	b.e.t.Helper()
	if !strings.HasPrefix(u, "http") {
		u = b.e.URL + strings.TrimPrefix(u, "/")
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for _, m := range mods {
		m(req)
	}
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) page {
	b.e.t.Helper()
	if !strings.HasPrefix(u, "http") {
		u = b.e.URL + strings.TrimPrefix(u, "/")
	}
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// follow follows a redirect on this server.
func (b *browser) follow(p page) page {
	b.e.t.Helper()
	if p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
		b.e.t.Fatalf("want a redirect, got %d %s", p.Status, p.Body)
	}
	loc := p.Location
	if strings.HasPrefix(loc, "/") {
		loc = strings.TrimSuffix(b.e.URL, "/") + loc
	}
	return b.get(loc)
}

// form reads the form of a page whose action ends with action, with its
// hidden and pre-filled fields, and the button that names name=value.
func form(t *testing.T, p page, action string) (string, url.Values) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		t.Fatal(err)
	}
	var found string
	vals := url.Values{}
	var walk func(n *html.Node, in bool)
	walk = func(n *html.Node, in bool) {
		if n.Type == html.ElementNode && n.Data == "form" {
			in = strings.HasSuffix(attr(n, "action"), action)
			if in {
				found = attr(n, "action")
			}
		}
		if in && n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") != "" && attr(n, "type") == "hidden" {
			vals.Set(attr(n, "name"), attr(n, "value"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, in)
		}
	}
	walk(doc, false)
	if found == "" {
		t.Fatalf("no form posting to %s in:\n%s", action, p.Body)
	}
	return found, vals
}

func attr(n *html.Node, k string) string {
	for _, a := range n.Attr {
		if a.Key == k {
			return a.Val
		}
	}
	return ""
}

func pkce() (verifier, challenge string) {
	verifier = "verifier-" + strings.Repeat("a", 50)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func authorizeURL(params map[string]string) string {
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	return "authorize?" + q.Encode()
}

// hostedLogin goes through the hosted page from /authorize to the redirect
// back to the application: it types identifier, reads the code from the
// mail (or SMS, through code) and types it.
func (b *browser) hostedLogin(t *testing.T, params map[string]string, identifier string, code func() string) page {
	t.Helper()
	p := b.get(authorizeURL(params))
	if p.Status != http.StatusFound || !strings.HasSuffix(p.Location, "/login") {
		t.Fatalf("/authorize without a session: %d %q %s", p.Status, p.Location, p.Body)
	}
	p = b.follow(p)
	if p.Status != 200 {
		t.Fatalf("GET /login: %d %s", p.Status, p.Body)
	}
	if strings.Contains(p.Body, `name="connection"`) {
		t.Fatalf("the page asks for a connection though the request named one:\n%s", p.Body)
	}
	action, vals := form(t, p, "/login/identifier")
	vals.Set("identifier", identifier)
	p = b.post(action, vals)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("POST identifier: %d %s", p.Status, p.Body)
	}
	p = b.follow(p)
	if !strings.Contains(p.Body, `autocomplete="one-time-code"`) {
		t.Fatalf("no code page after sending:\n%s", p.Body)
	}
	action, vals = form(t, p, "/login/code")
	vals.Set("code", code())
	return b.post(action, vals)
}

func redirectParams(t *testing.T, loc, prefix string) url.Values {
	t.Helper()
	if !strings.HasPrefix(loc, prefix) {
		t.Fatalf("redirect to %q, want %s…", loc, prefix)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if u.Fragment != "" {
		v, _ := url.ParseQuery(u.Fragment)
		return v
	}
	return u.Query()
}

// The hosted page, email code: /authorize → the page → the code from the
// mail → back to the application with an authorization code, which the
// application exchanges with PKCE. A second /authorize goes straight back
// (SSO); prompt=login and max_age=0 show the page again; prompt=none
// without a session answers login_required.
func TestAuthorize_HostedPageEmailCodeThenSSO(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.pageBrowser()
	verifier, challenge := pkce()
	params := map[string]string{
		"client_id": nativeClientID, "response_type": "code", "redirect_uri": "com.example.native://callback",
		"scope": "openid email offline_access", "state": "st-1", "code_challenge": challenge, "code_challenge_method": "S256",
		"connection": "email", "nonce": "n-1",
	}
	p := b.hostedLogin(t, params, "  Page.User@Example.com ", func() string {
		return codeFrom(t, e.SMTP.Wait(t, 1, 10e9)[0])
	})
	got := redirectParams(t, p.Location, "com.example.native://callback?")
	if p.Status != http.StatusFound || got.Get("state") != "st-1" || got.Get("code") == "" {
		t.Fatalf("after the code: %d %q", p.Status, p.Location)
	}
	if to := e.SMTP.Messages()[0].To; len(to) != 1 || to[0] != "page.user@example.com" {
		t.Errorf("the code went to %v, want the canonical address", to)
	}
	tok := e.postForm("/oauth/token", url.Values{
		"grant_type": {"authorization_code"}, "client_id": {nativeClientID}, "code": {got.Get("code")},
		"redirect_uri": {"com.example.native://callback"}, "code_verifier": {verifier},
	})
	if tok.Status != 200 || tok.str("id_token") == "" || tok.str("refresh_token") == "" {
		t.Fatalf("code exchange: %d %s", tok.Status, tok.Body)
	}
	claims := jwtClaims(t, tok.str("id_token"))
	if claims["email"] != "page.user@example.com" || claims["nonce"] != "n-1" || claims["email_verified"] != true {
		t.Errorf("ID token claims %v", claims)
	}

	// SSO: no page, a new code at once.
	params["state"] = "st-2"
	p = b.get(authorizeURL(params))
	if sso := redirectParams(t, p.Location, "com.example.native://callback?"); p.Status != http.StatusFound || sso.Get("code") == "" || sso.Get("state") != "st-2" {
		t.Fatalf("second /authorize: %d %q", p.Status, p.Location)
	}
	params["prompt"] = "none"
	if p = b.get(authorizeURL(params)); p.Status != http.StatusFound || redirectParams(t, p.Location, "com.example.native://callback?").Get("code") == "" {
		t.Fatalf("prompt=none with a session: %d %q", p.Status, p.Location)
	}
	delete(params, "prompt")
	for _, extra := range []map[string]string{{"prompt": "login"}, {"max_age": "0"}} {
		for k, v := range extra {
			params[k] = v
		}
		if p = b.get(authorizeURL(params)); p.Status != http.StatusFound || !strings.HasSuffix(p.Location, "/login") {
			t.Errorf("%v: %d %q, want the page", extra, p.Status, p.Location)
		}
		for k := range extra {
			delete(params, k)
		}
	}

	// Another browser has no session.
	params["prompt"] = "none"
	p = e.pageBrowser().get(authorizeURL(params))
	if v := redirectParams(t, p.Location, "com.example.native://callback?"); v.Get("error") != "login_required" || v.Get("state") != "st-2" {
		t.Errorf("prompt=none without a session: %q", p.Location)
	}
}

// Errors that cannot go to a verified redirect_uri are a page; the others
// go back with error and state.
func TestAuthorize_Errors(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.pageBrowser()
	base := map[string]string{"client_id": webClientID, "response_type": "code", "redirect_uri": "https://app.example.com/callback", "state": "s"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range base {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for name, params := range map[string]map[string]string{
		"unknown client":        with("client_id", "nope"),
		"unregistered redirect": with("redirect_uri", "https://evil.example.com/callback"),
		"redirect prefix":       with("redirect_uri", "https://app.example.com/callback/../evil"),
	} {
		p := b.get(authorizeURL(params))
		if p.Status != http.StatusBadRequest || p.Location != "" || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %q, want an error page", name, p.Status, p.Location)
		}
		if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", name, csp)
		}
	}
	for name, c := range map[string]struct {
		params map[string]string
		code   string
	}{
		"bad response_type":  {with("response_type", "magic"), "unsupported_response_type"},
		"implicit w/o nonce": {with("response_type", "id_token"), "invalid_request"},
		"unknown connection": {with("connection", "nope"), "invalid_request"},
		"bad max_age":        {with("max_age", "-1"), "invalid_request"},
		"unknown audience":   {with("audience", "https://nope.example.com/"), "access_denied"},
		"none and login":     {with("prompt", "none login"), "invalid_request"},
		"plain PKCE":         {with("code_challenge_method", "plain"), "invalid_request"},
	} {
		p := b.get(authorizeURL(c.params))
		if p.Status != http.StatusFound {
			t.Errorf("%s: %d %s", name, p.Status, p.Body)
			continue
		}
		u, _ := url.Parse(p.Location)
		v := u.Query()
		if u.Fragment != "" {
			v, _ = url.ParseQuery(u.Fragment)
		}
		if !strings.HasPrefix(p.Location, "https://app.example.com/callback") || v.Get("error") != c.code || v.Get("state") != "s" {
			t.Errorf("%s: %q, want error=%s with the state", name, p.Location, c.code)
		}
	}
}

// The page's forms are bound to the browser's transaction: a form posted
// without its CSRF token, from a browser without the transaction, or of
// an older transaction is refused and sends nothing.
func TestLoginPage_CSRFAndTransactions(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.pageBrowser()
	_, challenge := pkce()
	params := map[string]string{"client_id": nativeClientID, "redirect_uri": "com.example.native://callback",
		"code_challenge": challenge, "code_challenge_method": "S256", "connection": "email"}
	p := b.follow(b.get(authorizeURL(params)))
	action, vals := form(t, p, "/login/identifier")
	vals.Set("identifier", "csrf@example.com")

	forged := url.Values{"tx": vals["tx"], "identifier": {"csrf@example.com"}}
	if p := b.post(action, forged); p.Status != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d", p.Status)
	}
	if p := e.pageBrowser().post(action, vals); p.Status != http.StatusBadRequest {
		t.Errorf("from a browser without the transaction: %d", p.Status)
	}
	// A new /authorize replaces the transaction: the old form is stale.
	b.get(authorizeURL(params))
	if p := b.post(action, vals); p.Status != http.StatusForbidden {
		t.Errorf("a form of the replaced transaction: %d", p.Status)
	}
	if n := len(e.SMTP.Messages()); n != 0 {
		t.Errorf("%d messages sent by refused forms", n)
	}
	// GET never sends or checks anything.
	if p := b.get("login?identifier=csrf@example.com&code=123456"); p.Status != 200 || len(e.SMTP.Messages()) != 0 {
		t.Errorf("GET /login with parameters: %d, %d messages", p.Status, len(e.SMTP.Messages()))
	}
}

// Wrong codes on the page say so in words, count like wrong codes on
// /oauth/token, and the code dies after its tries.
func TestLoginPage_WrongCodes(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.pageBrowser()
	_, challenge := pkce()
	params := map[string]string{"client_id": nativeClientID, "redirect_uri": "com.example.native://callback",
		"code_challenge": challenge, "code_challenge_method": "S256", "connection": "email", "ui_locales": "fr"}
	p := b.follow(b.get(authorizeURL(params)))
	if !strings.Contains(p.Body, `lang="fr"`) {
		t.Errorf("ui_locales=fr did not give a French page")
	}
	action, vals := form(t, p, "/login/identifier")
	vals.Set("identifier", "wrong@example.com")
	p = b.follow(b.post(action, vals))
	code := codeFrom(t, e.SMTP.Wait(t, 1, 10e9)[0])
	action, vals = form(t, p, "/login/code")
	var bodies []string
	for range 3 {
		vals.Set("code", wrongCode(code))
		p = b.post(action, vals)
		if p.Status != http.StatusForbidden {
			t.Fatalf("wrong code: %d", p.Status)
		}
		bodies = append(bodies, p.Body)
	}
	vals.Set("code", code)
	p = b.post(action, vals)
	if p.Status != http.StatusForbidden || p.Location != "" {
		t.Fatalf("the right code after three wrong ones: %d %q", p.Status, p.Location)
	}
	if bodies[0] == bodies[2] && !regexp.MustCompile(`(?i)code`).MatchString(bodies[0]) {
		t.Errorf("the page does not say the code was wrong")
	}
	if p.Body == bodies[0] {
		t.Errorf("the page says the same after the code died as after one wrong try")
	}
	// The code is dead for /oauth/token too: the tries were the code's.
	if r := e.otp(nativeClientID, "wrong@example.com", code, "openid"); r.Status != 403 {
		t.Errorf("the code after three wrong tries on the page, at /oauth/token: %d %s", r.Status, r.Body)
	}
}

// The hosted page by SMS, and a magic link from the page opened in another
// browser.
func TestLoginPage_SMSAndMagicLink(t *testing.T) {
	tw := startFakeTwilio(t)
	e := newEnv(t, envOptions{twilioURL: tw.URL})
	b := e.pageBrowser()
	p := b.hostedLogin(t, map[string]string{"client_id": webClientID, "redirect_uri": "https://app.example.com/callback",
		"response_type": "code", "connection": "sms", "state": "sms"}, "+1 650 253 0199", func() string {
		msgs := tw.Messages()
		if len(msgs) != 1 {
			t.Fatalf("%d SMS", len(msgs))
		}
		return regexp.MustCompile(`\d{6}`).FindString(msgs[0].Get("Body"))
	})
	if v := redirectParams(t, p.Location, "https://app.example.com/callback?"); v.Get("code") == "" || v.Get("state") != "sms" {
		t.Fatalf("SMS login: %d %q %s", p.Status, p.Location, p.Body)
	}

	// email-link sends a link; another browser opens it and lands on the
	// application with the first browser's request.
	b2 := e.pageBrowser()
	p = b2.follow(b2.get(authorizeURL(map[string]string{"client_id": webClientID, "redirect_uri": "https://app.example.com/callback",
		"response_type": "code", "connection": "email-link", "state": "link-state"})))
	action, vals := form(t, p, "/login/identifier")
	vals.Set("identifier", "linker@example.com")
	p = b2.follow(b2.post(action, vals))
	if strings.Contains(p.Body, "one-time-code") {
		t.Fatalf("a link connection shows a code page")
	}
	m := e.SMTP.Wait(t, 1, 10e9)[0]
	link := regexp.MustCompile(`https?://[^\s"<>]+verify_redirect[^\s"<>]*`).FindString(m.Text + m.HTML)
	if link == "" {
		t.Fatalf("no link in the mail: %s", m.Text)
	}
	link = html.UnescapeString(link)
	other := e.pageBrowser()
	p = other.get(link)
	if p.Status != 200 {
		t.Fatalf("GET link: %d %s", p.Status, p.Body)
	}
	_, lv := formAny(t, p)
	p = other.post(link[:strings.Index(link, "?")], lv)
	if v := redirectParams(t, p.Location, "https://app.example.com/callback?"); v.Get("code") == "" || v.Get("state") != "link-state" {
		t.Fatalf("link opened in another browser: %d %q %s", p.Status, p.Location, p.Body)
	}
}

// formAny reads the first form's fields.
func formAny(t *testing.T, p page) (string, url.Values) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		t.Fatal(err)
	}
	vals := url.Values{}
	action := ""
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "form" && action == "" {
			action = attr(n, "action")
		}
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") != "" {
			vals.Set(attr(n, "name"), attr(n, "value"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return action, vals
}

// Hybrid response types: the code and the tokens in the fragment; the ID
// token carries the code's c_hash and the access token's at_hash.
func TestAuthorize_HybridResponseTypes(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.pageBrowser()
	params := map[string]string{"client_id": webClientID, "redirect_uri": webCallback, "response_type": "code",
		"connection": "email", "state": "h"}
	p := b.hostedLogin(t, params, "hybrid@example.com", func() string { return codeFrom(t, e.SMTP.Wait(t, 1, 10e9)[0]) })
	if p.Status != http.StatusFound {
		t.Fatalf("login: %d %s", p.Status, p.Body)
	}
	for _, rt := range []string{"code id_token", "code token", "code id_token token", "id_token code"} {
		params["response_type"], params["nonce"] = rt, "n-"+rt
		p := b.get(authorizeURL(params))
		u, err := url.Parse(p.Location)
		if err != nil || p.Status != http.StatusFound || u.RawQuery != "" || u.Fragment == "" {
			t.Errorf("%s: %d %q, want the response in the fragment", rt, p.Status, p.Location)
			continue
		}
		v, _ := url.ParseQuery(u.Fragment)
		if v.Get("code") == "" || v.Get("state") != "h" {
			t.Errorf("%s: %v", rt, v)
		}
		half := func(s string) string {
			sum := sha256.Sum256([]byte(s))
			return base64.RawURLEncoding.EncodeToString(sum[:16])
		}
		if strings.Contains(rt, "id_token") {
			claims := jwtClaims(t, v.Get("id_token"))
			if claims["c_hash"] != half(v.Get("code")) || claims["nonce"] != "n-"+rt {
				t.Errorf("%s: ID token c_hash %v nonce %v", rt, claims["c_hash"], claims["nonce"])
			}
			if at := v.Get("access_token"); at != "" && claims["at_hash"] != half(at) {
				t.Errorf("%s: at_hash %v", rt, claims["at_hash"])
			}
		} else if v.Get("id_token") != "" {
			t.Errorf("%s: an ID token nobody asked for", rt)
		}
		if strings.Contains(" "+rt+" ", " token ") != (v.Get("access_token") != "") {
			t.Errorf("%s: access_token %q", rt, v.Get("access_token"))
		}
		// The code is redeemable.
		tok := e.postForm("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {v.Get("code")},
			"redirect_uri": {webCallback}, "client_id": {webClientID}, "client_secret": {webSecret}})
		if tok.Status != 200 {
			t.Errorf("%s: exchange: %d %s", rt, tok.Status, tok.Body)
		}
	}
	params["response_type"] = "code id_token"
	params["response_mode"] = "query"
	if p := b.get(authorizeURL(params)); !strings.Contains(p.Location, "error=invalid_request") || strings.Contains(p.Location, "code=") {
		t.Errorf("hybrid with response_mode=query: %q", p.Location)
	}
}

// A guess on the page costs what a guess on /oauth/token costs: one bucket
// of code checks per address for both.
func TestLoginPage_GuessesShareTheAPIsBucket(t *testing.T) {
	e := newEnv(t, envOptions{limits: realLimits(func(l *ratelimit.Settings) {
		l.VerifyPerIP = store.Limit{Burst: 2, Per: time.Hour}
	})})
	b := e.pageBrowser()
	_, challenge := pkce()
	p := b.follow(b.get(authorizeURL(map[string]string{"client_id": nativeClientID, "redirect_uri": nativeCallback,
		"code_challenge": challenge, "code_challenge_method": "S256", "connection": "email"})))
	action, vals := form(t, p, "/login/identifier")
	vals.Set("identifier", "bucket@example.com")
	p = b.follow(b.post(action, vals))
	code := codeFrom(t, e.SMTP.Wait(t, 1, 10e9)[0])
	action, vals = form(t, p, "/login/code")
	vals.Set("code", wrongCode(code))
	if p := b.post(action, vals); p.Status != http.StatusForbidden {
		t.Fatalf("a wrong code on the page: %d", p.Status)
	}
	if r := e.otp(nativeClientID, "bucket@example.com", wrongCode(code), "openid"); r.Status != http.StatusForbidden {
		t.Fatalf("a wrong code at /oauth/token: %d %s", r.Status, r.Body)
	}
	vals.Set("code", code)
	p = b.post(action, vals)
	if p.Status != http.StatusTooManyRequests || p.Location != "" {
		t.Fatalf("the third check from the address, on the page: %d %q", p.Status, p.Location)
	}
	if p.Header.Get("X-RateLimit-Limit") != "2" {
		t.Errorf("the page's 429 carries X-RateLimit-Limit %q", p.Header.Get("X-RateLimit-Limit"))
	}
}

// A code form posted again after the login finished does nothing: the
// transaction is gone with the login.
func TestLoginPage_ReplayAfterSuccess(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.pageBrowser()
	_, challenge := pkce()
	p := b.follow(b.get(authorizeURL(map[string]string{"client_id": nativeClientID, "redirect_uri": nativeCallback,
		"code_challenge": challenge, "code_challenge_method": "S256", "connection": "email"})))
	action, vals := form(t, p, "/login/identifier")
	vals.Set("identifier", "replay@example.com")
	p = b.follow(b.post(action, vals))
	action, vals = form(t, p, "/login/code")
	vals.Set("code", codeFrom(t, e.SMTP.Wait(t, 1, 10e9)[0]))
	if p := b.post(action, vals); p.Status != http.StatusFound || !strings.Contains(p.Location, "code=") {
		t.Fatalf("login: %d %q", p.Status, p.Location)
	}
	if p := b.post(action, vals); p.Status == http.StatusFound {
		t.Errorf("the same form again redirected to %q", p.Location)
	}
}
