package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/store"
)

// The cross-origin application of the test tenant (Cross Origin SPA).
const (
	coOrigin   = "https://co.example.com"
	coCallback = "https://co.example.com/callback"
)

// coBody is what auth0.js's passwordlessLogin posts to /co/authenticate.
func coBody(clientID, email, code string) map[string]any {
	return map[string]any{
		"client_id": clientID, "username": email, "otp": code, "realm": "email",
		"credential_type": "http://auth0.com/oauth/grant-type/passwordless/otp",
	}
}

// withOrigin sets the request's Origin header.
func withOrigin(origin string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Origin", origin) }
}

// coTicket is a /co/authenticate answer.
type coTicket struct {
	Ticket, Verifier, ID string
	Cookie               *http.Cookie
}

// coAuthenticate logs email in at /co/authenticate from coOrigin and
// returns the ticket, checking the answer's CORS headers and cookie.
func (e *env) coAuthenticate(email string) coTicket {
	e.t.Helper()
	code := e.startCode(coClientID, email)
	res := e.postJSON("/co/authenticate", coBody(coClientID, email, code), withOrigin(coOrigin))
	if res.Status != http.StatusOK {
		e.t.Fatalf("/co/authenticate: %d %s", res.Status, res.Body)
	}
	wantCORS(e.t, res, coOrigin, true)
	tk := coTicket{Ticket: res.str("login_ticket"), Verifier: res.str("co_verifier"), ID: res.str("co_id")}
	if len(tk.Ticket) < 40 || len(tk.Verifier) < 40 || tk.ID == "" || len(res.JSON) != 3 {
		e.t.Fatalf("/co/authenticate answered %s", res.Body)
	}
	for _, line := range res.Header.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil && c.Name == "sesame_co_"+tk.ID {
			tk.Cookie = c
		}
	}
	if tk.Cookie == nil {
		e.t.Fatalf("no sesame_co_%s cookie in %q", tk.ID, res.Header.Values("Set-Cookie"))
	}
	return tk
}

// wantCORS checks that an answer lets origin read it (credentials as said).
func wantCORS(t *testing.T, res response, origin string, credentials bool) {
	t.Helper()
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, origin)
	}
	if got := res.Header.Get("Access-Control-Allow-Credentials"); (got == "true") != credentials {
		t.Errorf("Access-Control-Allow-Credentials = %q, want credentials %v", got, credentials)
	}
}

// wantNoCORS checks that an answer carries no CORS header at all.
func wantNoCORS(t *testing.T, res response) {
	t.Helper()
	for k := range res.Header {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Errorf("answer to a refused origin carries %s: %q", k, res.Header.Get(k))
		}
	}
}

func TestCrossOrigin_AuthenticateAnswersATicketForTheWebOrigin(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.coAuthenticate("ada@example.com")
	c := tk.Cookie
	if !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode || c.Secure || c.MaxAge != 300 || c.Value != tk.Verifier {
		t.Errorf("cookie = %+v, want HttpOnly, Path /, SameSite=Lax on http, 5 minutes, the verifier", c)
	}
	if tk.ID != oauth.TicketID(tk.Ticket) {
		t.Errorf("co_id %q is not the ticket's", tk.ID)
	}
	// Only hashes are stored: the ticket and the verifier are nowhere in
	// the database file, nor in the log.
	wantCleanLog(t, e, tk.Ticket, tk.Verifier)
	lt, err := e.App.Store.RedeemLoginTicket(t.Context(), sha(tk.Ticket), time.Now())
	if err != nil || lt.ClientID != coClientID || lt.ID != tk.ID || string(lt.VerifierHash) != string(sha(tk.Verifier)) {
		t.Errorf("stored ticket %+v, %v", lt, err)
	}
	if ev := e.events("scoa"); len(ev) != 1 || ev[0].ClientID != coClientID || ev[0].UserID != lt.UserID {
		t.Errorf("scoa events = %+v", ev)
	}
}

func sha(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

func TestCrossOrigin_CookieIsSameSiteNoneAndSecureOverHTTPS(t *testing.T) {
	e := newEnv(t, envOptions{tls: true})
	c := e.coAuthenticate("ada@example.com").Cookie
	if c.SameSite != http.SameSiteNoneMode || !c.Secure {
		t.Errorf("cookie over https = %+v, want SameSite=None; Secure", c)
	}
}

func TestCrossOrigin_OriginsNotInWebOriginsGetNoCORSAndNoTicket(t *testing.T) {
	e := newEnv(t, envOptions{})
	email := "ada@example.com"
	code := e.startCode(coClientID, email)
	for _, origin := range []string{
		"null",
		"https://co.example.com.evil.com",
		"https://evilco.example.com",
		"http://co.example.com",
		"https://co.example.com:8443",
		"https://a.b.preview.co.example.com",
		"https://cors-only.example.com", // allowed_origins: CORS, not cross-origin authentication
		"https://spa.example.com",       // another client's web origin
		"https://co.example.com/",
		"",
	} {
		t.Run(origin, func(t *testing.T) {
			var mods []func(*http.Request)
			if origin != "" {
				mods = append(mods, withOrigin(origin))
			}
			res := e.postJSON("/co/authenticate", coBody(coClientID, email, code), mods...)
			want := "Origin " + origin + " is not allowed.\n"
			if origin == "" {
				want = "An Origin header is required.\n"
			}
			if res.Status != http.StatusForbidden || string(res.Body) != want || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
				t.Errorf("got %d %q, want 403 %q", res.Status, res.Body, want)
			}
			wantNoCORS(t, res)
			if v := res.Header.Values("Set-Cookie"); len(v) != 0 {
				t.Errorf("cookies %q", v)
			}
			pf := e.preflight("/co/authenticate", origin, http.MethodPost)
			wantNoCORS(t, pf)
		})
	}
	if n := len(e.events("fco")); n != 10 {
		t.Errorf("%d fco events, want 10", n)
	}
	// Nothing was guessed: the code still works, from a wildcard web origin.
	res := e.postJSON("/co/authenticate", coBody(coClientID, email, code), withOrigin("https://pr-7.preview.co.example.com"))
	if res.Status != http.StatusOK || res.str("login_ticket") == "" {
		t.Fatalf("the code after refused origins: %d %s", res.Status, res.Body)
	}
	wantCORS(t, res, "https://pr-7.preview.co.example.com", true)
}

// preflight sends a CORS preflight for method on path from origin.
func (e *env) preflight(path, origin, method string) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodOptions, e.URL+strings.TrimPrefix(path, "/"), nil)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.Header.Set("Access-Control-Request-Method", method)
	req.Header.Set("Access-Control-Request-Headers", "content-type,auth0-client")
	return e.do(req)
}

func TestCrossOrigin_PreflightsAnswerAllowedOriginsOnly(t *testing.T) {
	e := newEnv(t, envOptions{})
	res := e.preflight("/co/authenticate", coOrigin, http.MethodPost)
	if res.Status != http.StatusNoContent {
		t.Errorf("preflight: %d", res.Status)
	}
	wantCORS(t, res, coOrigin, true)
	if m := res.Header.Get("Access-Control-Allow-Methods"); m != "POST" {
		t.Errorf("Allow-Methods %q", m)
	}
	if h := res.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(h, "Content-Type") || !strings.Contains(h, "Auth0-Client") {
		t.Errorf("Allow-Headers %q", h)
	}
	if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Origin") {
		t.Errorf("Vary %q", res.Header.Values("Vary"))
	}
	// A method the route does not serve gets nothing.
	wantNoCORS(t, e.preflight("/co/authenticate", coOrigin, http.MethodDelete))

	for _, path := range []string{"/passwordless/start", "/passwordless/verify", "/oauth/token", "/oauth/revoke", "/userinfo"} {
		method := http.MethodPost
		if path == "/userinfo" {
			method = http.MethodGet
		}
		// An origin of any client (a web origin, an allowed origin, a
		// callback's origin) passes the preflight, which names no client.
		for _, origin := range []string{coOrigin, "https://cors-only.example.com", "https://app.example.com"} {
			res := e.preflight(path, origin, method)
			if res.Status != http.StatusNoContent {
				t.Errorf("%s from %s: %d", path, origin, res.Status)
			}
			wantCORS(t, res, origin, false)
		}
		for _, origin := range []string{"https://evil.example.com", "null", "https://co.example.com.evil.com"} {
			wantNoCORS(t, e.preflight(path, origin, method))
		}
	}
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/jwks.json"} {
		res := e.preflight(path, "https://anyone.example", http.MethodGet)
		wantCORS(t, res, "*", false)
		get := e.get(path, withOrigin("https://anyone.example"))
		if get.Status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, get.Status)
		}
		wantCORS(t, get, "*", false)
	}
	// A route with no CORS still answers OPTIONS with 405.
	if res := e.preflight("/passwordless/verify_redirect", coOrigin, http.MethodGet); res.Status != http.StatusMethodNotAllowed {
		t.Errorf("OPTIONS verify_redirect: %d", res.Status)
	}
}

func TestCrossOrigin_APIAnswersAreForTheNamedClientsOrigins(t *testing.T) {
	e := newEnv(t, envOptions{})
	start := map[string]any{"client_id": coClientID, "connection": "email", "email": "ada@example.com", "send": "code"}
	for _, origin := range []string{coOrigin, "https://cors-only.example.com", "https://x.preview.co.example.com"} {
		res := e.postJSON("/passwordless/start", start, withOrigin(origin))
		if res.Status != http.StatusOK {
			t.Fatalf("start from %s: %d %s", origin, res.Status, res.Body)
		}
		wantCORS(t, res, origin, false)
		if exp := res.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(exp, "X-RateLimit-Remaining") {
			t.Errorf("Expose-Headers %q", exp)
		}
	}
	// Another client's origin passes the preflight, but cannot read this
	// client's answers, errors included.
	res := e.postJSON("/passwordless/start", start, withOrigin("https://spa.example.com"))
	if res.Status != http.StatusOK {
		t.Fatalf("start: %d %s", res.Status, res.Body)
	}
	wantNoCORS(t, res)
	bad := map[string]any{"client_id": coClientID, "connection": "nope", "email": "ada@example.com"}
	wantNoCORS(t, e.postJSON("/passwordless/start", bad, withOrigin("https://evil.example.com")))
	wantCORS(t, e.postJSON("/passwordless/start", bad, withOrigin(coOrigin)), coOrigin, false)
	// A body that names no client yet: the origin of some client reads
	// the error.
	wantCORS(t, e.postJSON("/passwordless/start", "[", withOrigin(coOrigin)), coOrigin, false)
	wantNoCORS(t, e.postJSON("/passwordless/start", "[", withOrigin("https://evil.example.com")))

	verify := url.Values{"client_id": {coClientID}, "connection": {"email"}, "email": {"ada@example.com"}, "verification_code": {"000000"}}
	r := e.postForm("/passwordless/verify", verify, withOrigin(coOrigin))
	if r.Status != http.StatusUnauthorized {
		t.Errorf("verify: %d %s", r.Status, r.Body)
	}
	wantCORS(t, r, coOrigin, false)
	wantNoCORS(t, e.postForm("/passwordless/verify", verify, withOrigin("https://app.example.com")))

	tok := url.Values{"grant_type": {"authorization_code"}, "client_id": {coClientID}, "code": {"nope"}}
	r = e.postForm("/oauth/token", tok, withOrigin(coOrigin))
	wantError(t, r, http.StatusForbidden, "invalid_grant", "Invalid authorization code")
	wantCORS(t, r, coOrigin, false)
	wantNoCORS(t, e.postForm("/oauth/token", tok, withOrigin("https://spa.example.com")))
	tok.Set("client_id", "unknown")
	wantNoCORS(t, e.postForm("/oauth/token", tok, withOrigin(coOrigin)))

	// /userinfo: the token's client decides. (The four codes sent above
	// are delivered first, so that the newest mail is bob's.)
	e.SMTP.Wait(t, 4, 10*time.Second)
	code := e.startCode(nativeClientID, "bob@example.com")
	at := e.otp(nativeClientID, "bob@example.com", code, "openid email").str("access_token")
	ui := e.get("/userinfo", withOrigin(coOrigin), func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+at) })
	if ui.Status != http.StatusOK {
		t.Fatalf("userinfo: %d %s", ui.Status, ui.Body)
	}
	wantNoCORS(t, ui) // the native app has no web origin
	wantCORS(t, e.get("/userinfo", withOrigin(coOrigin)), coOrigin, false)
}

func TestCrossOrigin_AuthenticateErrorsInAuth0sShape(t *testing.T) {
	e := newEnv(t, envOptions{})
	email := "ada@example.com"
	code := e.startCode(coClientID, email)
	const bodyErr = "Invalid request body. All and only of client_id, credential_type, username, otp, realm are required."
	tests := []struct {
		name   string
		edit   func(map[string]any)
		status int
		code   string
		desc   string
	}{
		{"no otp", func(b map[string]any) { delete(b, "otp") }, 400, "invalid_request", bodyErr},
		{"no realm", func(b map[string]any) { delete(b, "realm") }, 400, "invalid_request", bodyErr},
		{"a password too", func(b map[string]any) { b["password"] = "x" }, 400, "invalid_request", bodyErr},
		{"password-realm", func(b map[string]any) {
			b["credential_type"] = "http://auth0.com/oauth/grant-type/password-realm"
		}, 400, "unsupported_credential_type", "Unknown credential type parameter."},
		{"unknown realm", func(b map[string]any) { b["realm"] = "nope" }, 400, "invalid_request", "Unknown realm nope."},
		{"realm not enabled", func(b map[string]any) { b["realm"] = "sms" }, 400, "invalid_request", "Unknown realm sms."},
		{"a number", func(b map[string]any) { b["otp"] = 123456 }, 400, "invalid_request", "parameter otp must be a string"},
		{"wrong code", func(b map[string]any) { b["otp"] = "000000" }, 403, "access_denied", "Wrong email or verification code."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := coBody(coClientID, email, code)
			tt.edit(b)
			res := e.postJSON("/co/authenticate", b, withOrigin(coOrigin))
			wantError(t, res, tt.status, tt.code, tt.desc)
			wantCORS(t, res, coOrigin, true)
		})
	}
	// A client without cross-origin authentication, from its web origin.
	res := e.postJSON("/co/authenticate", coBody(spaClientID, email, code), withOrigin("https://spa.example.com"))
	wantError(t, res, http.StatusUnauthorized, "unauthorized_client", "Cross origin login not allowed.")
	wantCORS(t, res, "https://spa.example.com", true)
	res = e.postJSON("/co/authenticate", coBody("unknown", email, code), withOrigin(coOrigin))
	wantError(t, res, http.StatusForbidden, "unauthorized_client", "invalid client")
	wantNoCORS(t, res)
	// The failures of the login itself: two realms and a code.
	if len(e.events("fcoa")) != 3 {
		t.Errorf("fcoa events: %+v", e.events("fcoa"))
	}
	// The wrong code was one try of three: two more use the code up.
	for range 2 {
		e.postJSON("/co/authenticate", coBody(coClientID, email, "000000"), withOrigin(coOrigin))
	}
	res = e.postJSON("/co/authenticate", coBody(coClientID, email, code), withOrigin(coOrigin))
	wantError(t, res, http.StatusForbidden, "access_denied", "You've reached the maximum number of attempts. Please try to login again.")
}

func TestCrossOrigin_GuessesShareTheOTPGrantsBucket(t *testing.T) {
	limits := generousLimits()
	limits.VerifyPerIP = store.Limit{Burst: 3, Per: time.Hour}
	e := newEnv(t, envOptions{limits: &limits})
	code := e.startCode(coClientID, "ada@example.com")
	for range 2 {
		res := e.postJSON("/co/authenticate", coBody(coClientID, "ada@example.com", "000000"), withOrigin(coOrigin))
		wantError(t, res, http.StatusForbidden, "access_denied", "")
	}
	// The third guess from this address is on /oauth/token: the same bucket.
	e.otp(nativeClientID, "bob@example.com", "000000", "")
	res := e.postJSON("/co/authenticate", coBody(coClientID, "ada@example.com", code), withOrigin(coOrigin))
	wantError(t, res, http.StatusTooManyRequests, "too_many_requests", "")
	wantCORS(t, res, coOrigin, true)
	if res.Header.Get("X-RateLimit-Limit") != "3" {
		t.Errorf("X-RateLimit-Limit = %q", res.Header.Get("X-RateLimit-Limit"))
	}
}

func TestCrossOrigin_BruteForceCountsGuessesHereAsOnTheTokenEndpoint(t *testing.T) {
	e := newEnv(t, envOptions{trustedProxies: loopback})
	const victim, attacker = "pair@example.com", "198.51.100.66"
	// Nine failures on /oauth/token, the tenth here: the pair is blocked.
	e.failFrom(victim, attacker, 9)
	code := e.startCode(coClientID, victim)
	res := e.postJSON("/co/authenticate", coBody(coClientID, victim, wrongCode(code)), withOrigin(coOrigin), xff(attacker))
	wantError(t, res, http.StatusForbidden, "access_denied", descWrongEmail)
	res = e.postJSON("/co/authenticate", coBody(coClientID, victim, code), withOrigin(coOrigin), xff(attacker))
	wantError(t, res, http.StatusTooManyRequests, "too_many_attempts", passwordless.DescBlocked)
	wantCORS(t, res, coOrigin, true)
	if ev := e.events("limit_wc"); len(ev) != 1 || ev[0].IP != attacker {
		t.Errorf("limit_wc events = %+v", ev)
	}
}

// coVerify posts what the verification page posts to /co/verify.
func coVerify(t *testing.T, e *env, c *http.Client, clientID, ticket, verifier string, extra url.Values) response {
	t.Helper()
	f := url.Values{
		"client_id": {clientID}, "redirect_uri": {coCallback}, "response_type": {"code"}, "scope": {"openid profile email"},
		"state": {"st-1"}, "code_challenge": {pkceChallenge}, "code_challenge_method": {"S256"},
		"login_ticket": {ticket}, "co_verifier": {verifier},
	}
	for k, v := range extra {
		f[k] = v
	}
	return browse(t, c, http.MethodPost, e.URL+"co/verify", f)
}

// pkceVerifier and pkceChallenge are a PKCE pair (S256).
const pkceVerifier = "cross-origin-test-verifier-0123456789abcdefghijklmnop"

var pkceChallenge = func() string {
	sum := sha256.Sum256([]byte(pkceVerifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}()

func TestCrossOrigin_VerifiedTicketLogsInOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.coAuthenticate("ada@example.com")
	c := e.browser()
	res := coVerify(t, e, c, coClientID, tk.Ticket, tk.Verifier, nil)
	p := redirect(t, res, coCallback+"?", false)
	if p.Get("state") != "st-1" || p.Get("code") == "" {
		t.Fatalf("redirect %v", p)
	}
	sess := sessionCookie(t, res)
	tok := e.postForm("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {coClientID},
		"code": {p.Get("code")}, "redirect_uri": {coCallback}, "code_verifier": {pkceVerifier}}, withOrigin(coOrigin))
	if tok.Status != http.StatusOK {
		t.Fatalf("token: %d %s", tok.Status, tok.Body)
	}
	wantCORS(t, tok, coOrigin, false)
	claims := jwtClaims(t, tok.str("id_token"))
	if claims["email"] != "ada@example.com" || claims["aud"] != coClientID || claims["sid"] == nil {
		t.Errorf("ID token claims %v", claims)
	}

	// The same ticket again, with its verifier: spent.
	res = coVerify(t, e, c, coClientID, tk.Ticket, tk.Verifier, url.Values{"state": {"st-2"}})
	wantDenied(t, res, coCallback+"?", false, "st-2", oauth.ErrBadTicket.Description)

	// The session is the browser's: /v2/logout ends it.
	out := browse(t, c, http.MethodGet, e.URL+"v2/logout?client_id="+coClientID+"&returnTo="+url.QueryEscape("https://co.example.com/bye"), nil)
	if out.Status != http.StatusFound || out.Header.Get("Location") != "https://co.example.com/bye" {
		t.Fatalf("logout: %d %q", out.Status, out.Header.Get("Location"))
	}
	if cleared := sessionCookie(t, out); cleared.MaxAge >= 0 || cleared.Value != "" {
		t.Errorf("logout cookie %+v, want it cleared", cleared)
	}
	if _, err := e.App.Store.Session(t.Context(), sha(sess.Value), time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session after logout: %v, want ErrNotFound", err)
	}
}

func TestCrossOrigin_TicketWithoutItsVerifierIsSpentAndRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tt := range []struct {
		name     string
		clientID string
		verifier func(coTicket) string
	}{
		{"another browser", coClientID, func(coTicket) string { return "" }},
		{"a made-up verifier", coClientID, func(tk coTicket) string {
			// The last character changed (to one it is not: "A" when it
			// is anything else, "B" when it is "A").
			last := "A"
			if strings.HasSuffix(tk.Verifier, "A") {
				last = "B"
			}
			return tk.Verifier[:len(tk.Verifier)-1] + last
		}},
		{"another client", spaClientID, func(tk coTicket) string { return tk.Verifier }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tk := e.coAuthenticate("ada@example.com")
			c := e.browser()
			extra := url.Values{}
			if tt.clientID == spaClientID {
				extra.Set("redirect_uri", "https://spa.example.com/callback")
				extra.Set("response_type", "token")
				extra.Set("nonce", "n-1")
				extra.Del("code_challenge")
			}
			res := coVerify(t, e, c, tt.clientID, tk.Ticket, tt.verifier(tk), extra)
			if tt.clientID == spaClientID {
				wantDenied(t, res, "https://spa.example.com/callback#", true, "st-1", oauth.ErrBadTicket.Description)
			} else {
				wantDenied(t, res, coCallback+"?", false, "st-1", oauth.ErrBadTicket.Description)
			}
			if v := res.Header.Values("Set-Cookie"); len(v) != 0 {
				t.Errorf("a refused ticket set %q", v)
			}
			// Spent: the right verifier afterwards is refused too.
			res = coVerify(t, e, c, coClientID, tk.Ticket, tk.Verifier, nil)
			wantDenied(t, res, coCallback+"?", false, "st-1", oauth.ErrBadTicket.Description)
		})
	}
}

func TestCrossOrigin_VerifyRefusesBadRequestsWithoutRedirecting(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.coAuthenticate("ada@example.com")
	c := e.browser()
	wantErrorPage(t, coVerify(t, e, c, coClientID, tk.Ticket, tk.Verifier, url.Values{"redirect_uri": {"https://evil.example.com/cb"}}))
	wantErrorPage(t, coVerify(t, e, c, "unknown", tk.Ticket, tk.Verifier, nil))
	// A public client without PKCE: refused to the callback, the ticket
	// not spent.
	res := coVerify(t, e, c, coClientID, tk.Ticket, tk.Verifier, url.Values{"code_challenge": nil, "code_challenge_method": nil})
	p := redirect(t, res, coCallback+"?", false)
	if p.Get("error") != "invalid_request" {
		t.Errorf("without PKCE: %v", p)
	}
	res = coVerify(t, e, c, coClientID, tk.Ticket, tk.Verifier, nil)
	if p := redirect(t, res, coCallback+"?", false); p.Get("code") == "" {
		t.Errorf("the ticket after refused requests: %v", p)
	}
}

func TestCrossOrigin_ExpiredTicketIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{clock: true})
	tk := e.coAuthenticate("ada@example.com")
	e.Clock.Advance(oauth.LoginTicketLifetime)
	res := coVerify(t, e, e.browser(), coClientID, tk.Ticket, tk.Verifier, nil)
	wantDenied(t, res, coCallback+"?", false, "st-1", oauth.ErrBadTicket.Description)
}

func TestCrossOrigin_ConcurrentRedemptionsLogInOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.coAuthenticate("ada@example.com")
	const n = 8
	codes := make(chan string, n)
	done := make(chan struct{})
	for range n {
		go func() {
			defer func() { done <- struct{}{} }()
			f := url.Values{"client_id": {coClientID}, "redirect_uri": {coCallback}, "code_challenge": {pkceChallenge},
				"code_challenge_method": {"S256"}, "login_ticket": {tk.Ticket}, "co_verifier": {tk.Verifier}}
			req, _ := http.NewRequest(http.MethodPost, e.URL+"co/verify", strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			c := e.browser()
			res, err := c.Do(req)
			if err != nil {
				return
			}
			res.Body.Close()
			if u, err := url.Parse(res.Header.Get("Location")); err == nil && u.Query().Get("code") != "" {
				codes <- u.Query().Get("code")
			}
		}()
	}
	for range n {
		<-done
	}
	close(codes)
	if len(codes) != 1 {
		t.Errorf("%d of %d concurrent redemptions logged in, want 1", len(codes), n)
	}
}

// coAuthenticateIn logs email in at /co/authenticate from coOrigin with the
// browser c, which keeps the ticket's cookie as a browser does.
func (e *env) coAuthenticateIn(c *http.Client, email string) coTicket {
	e.t.Helper()
	code := e.startCode(coClientID, email)
	b, _ := json.Marshal(coBody(coClientID, email, code))
	req, _ := http.NewRequest(http.MethodPost, e.URL+"co/authenticate", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", coOrigin)
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != http.StatusOK {
		e.t.Fatalf("/co/authenticate: %d %v", res.StatusCode, err)
	}
	return coTicket{Ticket: body["login_ticket"], Verifier: body["co_verifier"], ID: body["co_id"]}
}

// authorizeTicketURL is the /authorize auth0.js goes to after
// /co/authenticate (web_message aside), for clientID with a code and PKCE.
func (e *env) authorizeTicketURL(clientID, redirectURI, ticket string) string {
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid profile email"}, "state": {"st-1"}, "nonce": {"n-1"},
		"code_challenge": {pkceChallenge}, "code_challenge_method": {"S256"}, "login_ticket": {ticket}}
	return e.URL + "authorize?" + q.Encode()
}

func TestCrossOrigin_AuthorizeWithTheTicketAndItsCookieLogsInOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.browser()
	tk := e.coAuthenticateIn(c, "ada@example.com")
	res := browse(t, c, http.MethodGet, e.authorizeTicketURL(coClientID, coCallback, tk.Ticket), nil)
	p := redirect(t, res, coCallback+"?", false)
	if p.Get("code") == "" || p.Get("state") != "st-1" {
		t.Fatalf("redirect %v", p)
	}
	sessionCookie(t, res)
	var cleared bool
	for _, line := range res.Header.Values("Set-Cookie") {
		if ck, err := http.ParseSetCookie(line); err == nil && ck.Name == "sesame_co_"+tk.ID && ck.MaxAge < 0 {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("the ticket's cookie is not cleared: %q", res.Header.Values("Set-Cookie"))
	}
	tok := e.postForm("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {coClientID},
		"code": {p.Get("code")}, "redirect_uri": {coCallback}, "code_verifier": {pkceVerifier}}, withOrigin(coOrigin))
	if tok.Status != http.StatusOK || jwtClaims(t, tok.str("id_token"))["nonce"] != "n-1" {
		t.Fatalf("token: %d %s", tok.Status, tok.Body)
	}
	wantCORS(t, tok, coOrigin, false)

	// The same ticket again, with its cookie put back: spent.
	again := e.browser()
	u, _ := url.Parse(e.URL)
	again.Jar.SetCookies(u, []*http.Cookie{{Name: "sesame_co_" + tk.ID, Value: tk.Verifier}})
	res = browse(t, again, http.MethodGet, e.authorizeTicketURL(coClientID, coCallback, tk.Ticket), nil)
	wantDenied(t, res, coCallback+"?", false, "st-1", oauth.ErrBadTicket.Description)
}

func TestCrossOrigin_AnotherBrowserGetsTheVerificationPageAndNoLogin(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.coAuthenticateIn(e.browser(), "ada@example.com")
	// A browser without the cookie (another one, or third-party cookies
	// blocked): nothing is redeemed, the page asks the application.
	other := e.browser()
	res := browse(t, other, http.MethodGet, e.authorizeTicketURL(coClientID, coCallback, tk.Ticket), nil)
	if res.Status != http.StatusOK || res.Header.Get("Location") != "" {
		t.Fatalf("got %d %q, want the verification page", res.Status, res.Header.Get("Location"))
	}
	if v := res.Header.Values("Set-Cookie"); len(v) != 0 {
		t.Errorf("the page set %q", v)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-src https://co.example.com;") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	body := string(res.Body)
	for _, want := range []string{`data-location="https://co.example.com/co-verify.html"`, `data-id="` + tk.ID + `"`, `<iframe id="co-frame"`, "co_verifier_request"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	f := parseForm(t, res.Body)
	if f.Method != "post" || f.Action != e.URL+"co/verify" || f.Fields.Get("login_ticket") != tk.Ticket ||
		f.Fields.Get("state") != "st-1" || f.Fields.Get("code_challenge") != pkceChallenge || !f.Fields.Has("co_verifier") {
		t.Fatalf("form %+v", f)
	}
	// Without the application's verifier (this browser has none), the
	// form's post is refused, and spends the ticket.
	res = submit(t, other, f)
	wantDenied(t, res, coCallback+"?", false, "st-1", oauth.ErrBadTicket.Description)
	f.Fields.Set("co_verifier", tk.Verifier)
	wantDenied(t, submit(t, other, f), coCallback+"?", false, "st-1", oauth.ErrBadTicket.Description)
}

func TestCrossOrigin_TheVerificationPagesFormLogsInWithTheApplicationsVerifier(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.coAuthenticateIn(e.browser(), "ada@example.com")
	c := e.browser() // third-party cookies blocked: the cookie never came
	f := parseForm(t, browse(t, c, http.MethodGet, e.authorizeTicketURL(coClientID, coCallback, tk.Ticket), nil).Body)
	// What the page's script does with the cross_origin_loc's answer.
	f.Fields.Set("co_verifier", tk.Verifier)
	res := submit(t, c, f)
	if p := redirect(t, res, coCallback+"?", false); p.Get("code") == "" {
		t.Fatalf("redirect %v", p)
	}
	sessionCookie(t, res)
}

func TestCrossOrigin_TicketOfAnotherClientIsRefusedAtAuthorize(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.browser()
	tk := e.coAuthenticateIn(c, "ada@example.com")
	// Web B has no cross_origin_loc: with the cookie the ticket is spent
	// and refused; without it, refused at once.
	res := browse(t, c, http.MethodGet, e.authorizeTicketURL(webBClientID, "https://b.example.com/callback", tk.Ticket), nil)
	wantDenied(t, res, "https://b.example.com/callback?", false, "st-1", oauth.ErrBadTicket.Description)
	if _, err := e.App.Store.RedeemLoginTicket(t.Context(), sha(tk.Ticket), time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a ticket tried on another client: %v, want it spent", err)
	}
	tk2 := e.coAuthenticateIn(e.browser(), "ada@example.com")
	res = browse(t, e.browser(), http.MethodGet, e.authorizeTicketURL(webBClientID, "https://b.example.com/callback", tk2.Ticket), nil)
	wantDenied(t, res, "https://b.example.com/callback?", false, "st-1", oauth.ErrBadTicket.Description)
}
