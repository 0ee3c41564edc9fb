package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/html"
)

// flow is one thing a user does, as a sequence of HTTP requests. The
// counts say what one iteration costs the server, read from the code
// (docs/ARCHITECTURE.md, "The store"), and give the bound the machine's
// floors imply.
type flow struct {
	Name string
	// Requests is the HTTP requests an iteration makes.
	Requests int
	// Signatures is the JWTs an iteration signs, with Alg.
	Signatures int
	Alg        string
	// Commits is the write transactions an iteration causes on SQLite,
	// the outbox worker's included (its claim is shared by up to 16
	// messages under load; counted as one).
	Commits int
	// setup runs once per virtual user before the measurement (the
	// refresh flow logs in to get its token); nil for none.
	setup func(it *iteration) (any, error)
	run   func(it *iteration, state any) error
	// browser: the iteration keeps cookies (a new browser each time).
	browser bool
	// reference: the flow talks to the reference endpoint, not Sesame.
	reference bool
}

var flows = []*flow{
	{Name: "start", Requests: 1, Commits: 3, // CreateCode (with its buckets and outbox row), claim, complete
		run: func(it *iteration, _ any) error {
			_, err := it.startEmail(it.newEmail(), "code", nil, false)
			return err
		}},
	{Name: "login-email", Requests: 2, Signatures: 2, Alg: "RS256", Commits: 4, // start 3; GuessCode with the login
		run: func(it *iteration, _ any) error {
			_, err := it.emailLogin(webClientID, "", "openid profile email")
			return err
		}},
	{Name: "login-audience", Requests: 2, Signatures: 2, Alg: "RS256", Commits: 4,
		run: func(it *iteration, _ any) error {
			_, err := it.emailLogin(webClientID, apiAudience, "openid email read:things")
			return err
		}},
	{Name: "login-es256", Requests: 2, Signatures: 2, Alg: "ES256", Commits: 4,
		run: func(it *iteration, _ any) error {
			_, err := it.emailLogin(esClientID, esAudience, "openid email")
			return err
		}},
	{Name: "login-sms", Requests: 2, Signatures: 2, Alg: "RS256", Commits: 3, // TakeTokens, CreateCode; GuessCode with the login
		run: func(it *iteration, _ any) error { return it.smsLogin() }},
	{Name: "refresh", Requests: 1, Signatures: 2, Alg: "RS256", Commits: 1, // the per-IP bucket; a non-rotating token is only read
		setup: func(it *iteration) (any, error) {
			tok, err := it.emailLogin(webClientID, "", "openid email offline_access")
			if err != nil {
				return nil, err
			}
			if tok.RefreshToken == "" {
				return nil, errors.New("login gave no refresh token")
			}
			return tok.RefreshToken, nil
		},
		run: func(it *iteration, state any) error {
			_, err := it.token("refresh", url.Values{"grant_type": {"refresh_token"}, "client_id": {webClientID},
				"client_secret": {webSecret}, "refresh_token": {state.(string)}})
			return err
		}},
	{Name: "magic-link", Requests: 4, Signatures: 2, Alg: "RS256", Commits: 8, // start 3; GuessCode with the login, CreateSession, CreateAuthCode; TakeTokens, RedeemAuthCode
		run: func(it *iteration, _ any) error { return it.magicLink() }, browser: true},
	{Name: "hosted", Requests: 6, Signatures: 2, Alg: "RS256", Commits: 8, // as magic-link
		run: func(it *iteration, _ any) error { return it.hostedLogin() }, browser: true},
	{Name: "reference", Requests: 1, Commits: 1, reference: true,
		run: func(it *iteration, _ any) error { return it.reference() }},
}

func findFlow(name string) *flow {
	for _, f := range flows {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// target is a server the virtual users talk to, and what they share.
type target struct {
	base      string // with a trailing slash
	transport *http.Transport
	inbox     *inbox
	runID     string // in every address, so reruns on one database never reuse one
	seq       atomic.Int64
	rec       atomic.Pointer[recorder]
}

func newTarget(base string, in *inbox, conns int) *target {
	t := &target{base: base, inbox: in, transport: &http.Transport{
		MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: 90 * time.Second,
	}}
	var b [4]byte
	_, _ = rand.Read(b[:])
	t.runID = hex.EncodeToString(b[:])
	return t
}

// iteration is one run of a flow by one virtual user.
type iteration struct {
	t      *target
	ctx    context.Context
	client *http.Client
}

func (t *target) iteration(ctx context.Context, browser bool) *iteration {
	c := &http.Client{Transport: t.transport, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if browser {
		c.Jar, _ = cookiejar.New(nil)
	}
	return &iteration{t: t, ctx: ctx, client: c}
}

func (it *iteration) rec() *recorder { return it.t.rec.Load() }

func (it *iteration) newEmail() string {
	return fmt.Sprintf("u%s-%d@bench.example", it.t.runID, it.t.seq.Add(1))
}

// newPhone is a distinct valid US number: +1 650, an exchange from 200 to
// 999 but 555, and a line.
func (it *iteration) newPhone() string {
	n := it.t.seq.Add(1)
	ex := 200 + (n/10000)%799
	if ex >= 555 {
		ex++
	}
	return fmt.Sprintf("+1650%03d%04d", ex, n%10000)
}

// errCanceled marks a request cut off by the end of a measurement: not an
// error of the server.
var errCanceled = errors.New("canceled")

// do sends req as step and records its latency, or its failure by status.
func (it *iteration) do(step string, req *http.Request, want int) (*http.Response, []byte, error) {
	req = req.WithContext(it.ctx)
	t0 := time.Now()
	res, err := it.client.Do(req)
	if err != nil {
		if it.ctx.Err() != nil {
			return nil, nil, errCanceled
		}
		it.rec().fail(step, "transport")
		return nil, nil, fmt.Errorf("%s: %w", step, err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	d := time.Since(t0)
	if err != nil {
		if it.ctx.Err() != nil {
			return nil, nil, errCanceled
		}
		it.rec().fail(step, "transport")
		return nil, nil, fmt.Errorf("%s: %w", step, err)
	}
	if res.StatusCode != want {
		it.rec().fail(step, strconv.Itoa(res.StatusCode))
		return nil, nil, fmt.Errorf("%s: %d %s", step, res.StatusCode, truncate(string(body), 300))
	}
	it.rec().step(step, d)
	return res, body, nil
}

func (it *iteration) url(path string) string { return it.t.base + strings.TrimPrefix(path, "/") }

func (it *iteration) postJSON(step, path string, body any, want int) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, it.url(path), bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	_, out, err := it.do(step, req, want)
	return out, err
}

func (it *iteration) postForm(step, target string, form url.Values, want int) (*http.Response, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return it.do(step, req, want)
}

func (it *iteration) get(step, target string, want int) (*http.Response, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return nil, nil, err
	}
	return it.do(step, req, want)
}

// startEmail asks Sesame to send a code or link to email and tells the
// inbox when the answer came; keep says the message will be waited for.
func (it *iteration) startEmail(email, send string, authParams map[string]any, keep bool) (string, error) {
	body := map[string]any{"client_id": webClientID, "client_secret": webSecret, "connection": "email", "email": email, "send": send}
	if authParams != nil {
		body["authParams"] = authParams
	}
	if _, err := it.postJSON("start", "passwordless/start", body, http.StatusOK); err != nil {
		return "", err
	}
	it.t.inbox.answered(email, time.Now(), keep, it.rec().recording())
	return email, nil
}

// tokenResponse is what /oauth/token answers.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
}

func (it *iteration) token(step string, form url.Values) (tokenResponse, error) {
	_, body, err := it.postForm(step, it.url("oauth/token"), form, http.StatusOK)
	if err != nil {
		return tokenResponse{}, err
	}
	var tok tokenResponse
	if err := decodeJSON(body, &tok); err != nil {
		return tok, err
	}
	if tok.AccessToken == "" {
		it.rec().fail(step, "no access_token")
		return tok, fmt.Errorf("%s: no access token in %s", step, truncate(string(body), 200))
	}
	return tok, nil
}

// emailLogin is a start with send=code, the code from the mail and the OTP
// grant: an application's own login form.
func (it *iteration) emailLogin(clientID, audience, scope string) (tokenResponse, error) {
	email := it.newEmail()
	body := map[string]any{"client_id": clientID, "connection": "email", "email": email, "send": "code"}
	form := url.Values{"grant_type": {"http://auth0.com/oauth/grant-type/passwordless/otp"}, "client_id": {clientID},
		"realm": {"email"}, "username": {email}, "scope": {scope}}
	if clientID == webClientID {
		body["client_secret"] = webSecret
		form.Set("client_secret", webSecret)
	}
	if audience != "" {
		form.Set("audience", audience)
	}
	if _, err := it.postJSON("start", "passwordless/start", body, http.StatusOK); err != nil {
		return tokenResponse{}, err
	}
	it.t.inbox.answered(email, time.Now(), true, it.rec().recording())
	code, err := it.t.inbox.wait(it.ctx, email)
	if err != nil {
		return tokenResponse{}, it.failWait(err)
	}
	form.Set("otp", code)
	return it.token("token", form)
}

func (it *iteration) failWait(err error) error {
	if it.ctx.Err() != nil {
		return errCanceled
	}
	it.rec().fail("inbox", "timeout")
	return err
}

func (it *iteration) smsLogin() error {
	phone := it.newPhone()
	body := map[string]any{"client_id": webClientID, "client_secret": webSecret, "connection": "sms", "phone_number": phone}
	if _, err := it.postJSON("start", "passwordless/start", body, http.StatusOK); err != nil {
		return err
	}
	// The SMS went out within the request: no time to inbox to measure.
	it.t.inbox.answered(phone, time.Now(), true, nil)
	code, err := it.t.inbox.wait(it.ctx, phone)
	if err != nil {
		return it.failWait(err)
	}
	_, err = it.token("token", url.Values{"grant_type": {"http://auth0.com/oauth/grant-type/passwordless/otp"},
		"client_id": {webClientID}, "client_secret": {webSecret}, "realm": {"sms"}, "username": {phone},
		"otp": {code}, "scope": {"openid phone"}})
	return err
}

func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// magicLink: start with send=link and an authorization request, the link
// from the mail, its confirmation page, the button, and the application's
// exchange of the code with its PKCE verifier.
func (it *iteration) magicLink() error {
	verifier, challenge := pkce()
	email := it.newEmail()
	_, err := it.startEmail(email, "link", map[string]any{"response_type": "code", "redirect_uri": webCallback,
		"scope": "openid email", "state": "bench", "code_challenge": challenge, "code_challenge_method": "S256"}, true)
	if err != nil {
		return err
	}
	link, err := it.t.inbox.wait(it.ctx, email)
	if err != nil {
		return it.failWait(err)
	}
	_, page, err := it.get("link", link, http.StatusOK)
	if err != nil {
		return err
	}
	action, fields, err := findForm(page, "passwordless/verify_redirect")
	if err != nil {
		it.rec().fail("link", "no form")
		return err
	}
	res, _, err := it.postForm("confirm", action, fields, http.StatusFound)
	if err != nil {
		return err
	}
	return it.exchange("token", res.Header.Get("Location"), verifier)
}

// exchange redeems the authorization code of a redirect to the callback.
func (it *iteration) exchange(step, location, verifier string) error {
	u, err := url.Parse(location)
	if err != nil || !strings.HasPrefix(location, webCallback) || u.Query().Get("code") == "" {
		it.rec().fail(step, "no code")
		return fmt.Errorf("redirect to %q, want %s with a code", location, webCallback)
	}
	_, err = it.token(step, url.Values{"grant_type": {"authorization_code"}, "client_id": {webClientID},
		"client_secret": {webSecret}, "code": {u.Query().Get("code")}, "redirect_uri": {webCallback},
		"code_verifier": {verifier}})
	return err
}

// hostedLogin is a browser on the hosted page: /authorize, the page, the
// address, the code page, the code from the mail, back to the application,
// which exchanges the code.
func (it *iteration) hostedLogin() error {
	verifier, challenge := pkce()
	q := url.Values{"client_id": {webClientID}, "response_type": {"code"}, "redirect_uri": {webCallback},
		"scope": {"openid email"}, "state": {"bench"}, "connection": {"email"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	res, _, err := it.get("authorize", it.url("authorize?"+q.Encode()), http.StatusFound)
	if err != nil {
		return err
	}
	page, err := it.followPage("login_page", res)
	if err != nil {
		return err
	}
	action, fields, err := findForm(page, "/login/identifier")
	if err != nil {
		it.rec().fail("login_page", "no form")
		return err
	}
	email := it.newEmail()
	fields.Set("identifier", email)
	res, _, err = it.postForm("identifier", it.abs(action), fields, http.StatusSeeOther)
	if err != nil {
		return err
	}
	it.t.inbox.answered(email, time.Now(), true, it.rec().recording())
	page, err = it.followPage("code_page", res)
	if err != nil {
		return err
	}
	action, fields, err = findForm(page, "/login/code")
	if err != nil {
		it.rec().fail("code_page", "no form")
		return err
	}
	code, err := it.t.inbox.wait(it.ctx, email)
	if err != nil {
		return it.failWait(err)
	}
	fields.Set("code", code)
	res, _, err = it.postForm("code", it.abs(action), fields, http.StatusFound)
	if err != nil {
		return err
	}
	return it.exchange("token", res.Header.Get("Location"), verifier)
}

// followPage GETs the page a redirect on this server points to.
func (it *iteration) followPage(step string, res *http.Response) ([]byte, error) {
	loc := res.Header.Get("Location")
	if loc == "" {
		it.rec().fail(step, "no redirect")
		return nil, errors.New("no Location")
	}
	_, body, err := it.get(step, it.abs(loc), http.StatusOK)
	return body, err
}

// abs resolves a link of a page against the server's URL.
func (it *iteration) abs(ref string) string {
	base, _ := url.Parse(it.t.base)
	u, err := base.Parse(ref)
	if err != nil {
		return ref
	}
	return u.String()
}

// findForm returns the action and hidden fields of the page's form whose
// action ends with suffix.
func findForm(page []byte, suffix string) (string, url.Values, error) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return "", nil, err
	}
	var action string
	fields := url.Values{}
	var walk func(n *html.Node, in bool)
	walk = func(n *html.Node, in bool) {
		if n.Type == html.ElementNode && n.Data == "form" {
			in = strings.HasSuffix(attr(n, "action"), suffix)
			if in {
				action = attr(n, "action")
			}
		}
		if in && n.Type == html.ElementNode && n.Data == "input" && attr(n, "type") == "hidden" && attr(n, "name") != "" {
			fields.Set(attr(n, "name"), attr(n, "value"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, in)
		}
	}
	walk(doc, false)
	if action == "" {
		return "", nil, fmt.Errorf("no form posting to …%s in %s", suffix, truncate(string(page), 300))
	}
	return action, fields, nil
}

func attr(n *html.Node, k string) string {
	for _, a := range n.Attr {
		if a.Key == k {
			return a.Val
		}
	}
	return ""
}

// reference posts a start's body to the reference endpoint.
func (it *iteration) reference() error {
	_, err := it.postJSON("reference", "reference", map[string]any{"client_id": webClientID, "client_secret": webSecret,
		"connection": "email", "email": it.newEmail(), "send": "code"}, http.StatusOK)
	return err
}
