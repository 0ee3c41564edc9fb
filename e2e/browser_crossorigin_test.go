package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sesame-id/sesame/internal/browsertest"
)

// Cross-origin authentication in a real browser: an SPA on its own origin
// runs the unmodified auth0-js (passwordlessStart, passwordlessLogin,
// parseHash) against Sesame, as an application embedding its own login
// form does.

// coSPAPage is the SPA's page: an email field and a code field whose
// buttons call auth0-js. With window.pauseBeforeAuthorize set,
// passwordlessLogin stops before going to /authorize until window.resume()
// is called.
const coSPAPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>SPA</title><script src="%[1]s"></script></head>
<body>
<p><input id="email" type="email"> <button id="send" type="button">Send code</button></p>
<p><input id="code" inputmode="numeric"> <button id="signin" type="button">Sign in</button></p>
<p id="status"></p>
<script>
const sesame = %[2]q;
const webAuth = new auth0.WebAuth({
  domain: sesame, clientID: %[3]q, responseType: "token id_token", scope: "openid profile email",
  redirectUri: location.origin + "/callback",
  // The test server is plain http on an IP: auth0-js cannot derive the
  // issuer from such a domain, so it is given.
  overrides: {__token_issuer: sesame + "/", __jwks_uri: sesame + "/.well-known/jwks.json"},
});
const status = (state, s) => {
  const p = document.getElementById("status");
  p.dataset.state = state;
  p.textContent = s;
};
document.getElementById("send").addEventListener("click", () => {
  webAuth.passwordlessStart({connection: "email", send: "code", email: document.getElementById("email").value},
    (err) => err ? status("failed", "start failed: " + JSON.stringify(err)) : status("sent", "code sent"));
});
document.getElementById("signin").addEventListener("click", () => {
  const opts = {connection: "email", email: document.getElementById("email").value,
    verificationCode: document.getElementById("code").value};
  if (window.pauseBeforeAuthorize) {
    opts.onRedirecting = (done) => { window.resume = done; status("paused", "paused"); };
  }
  webAuth.passwordlessLogin(opts, (err) => status("failed", "login failed: " + JSON.stringify(err)));
});
</script></body></html>`

// coSPACallback is the SPA's callback: parseHash checks the ID token
// (signature from the JWKS, issuer, audience, nonce, state, at_hash).
const coSPACallback = `<!doctype html>
<html><head><meta charset="utf-8"><title>Callback</title><script src="%[1]s"></script></head>
<body><p id="result"></p>
<script>
const sesame = %[2]q;
const webAuth = new auth0.WebAuth({
  domain: sesame, clientID: %[3]q, responseType: "token id_token", redirectUri: location.origin + "/callback",
  overrides: {__token_issuer: sesame + "/", __jwks_uri: sesame + "/.well-known/jwks.json"},
});
webAuth.parseHash((err, result) => {
  const p = document.getElementById("result");
  p.textContent = err ? "error: " + JSON.stringify(err)
    : "logged in as " + result.idTokenPayload.email + " (" + result.idTokenPayload.sub + ")";
  p.dataset.done = "1";
});
</script></body></html>`

// coSPAVerify is the SPA's cross_origin_loc: auth0-js's documented
// verification page.
const coSPAVerify = `<!doctype html>
<html><head><meta charset="utf-8"><title>Verify</title><script src="%[1]s"></script></head>
<body><script>
new auth0.WebAuth({domain: %[2]q, clientID: %[3]q}).crossOriginVerification();
</script></body></html>`

// serveCOSPA gives spa its pages for the Browser SPA client of Sesame at
// sesame (without a trailing slash).
func serveCOSPA(spa *browsertest.SPA, sesame string) {
	spa.Page("/", fmt.Sprintf(coSPAPage, browsertest.Auth0JS, sesame, browserClientID))
	spa.Page("/callback", fmt.Sprintf(coSPACallback, browsertest.Auth0JS, sesame, browserClientID))
	spa.Page("/co-verify", fmt.Sprintf(coSPAVerify, browsertest.Auth0JS, sesame, browserClientID))
}

// coBrowserLogin types email into the SPA, asks for a code, reads it from
// the SMTP server, types it and signs in; before resume it runs
// beforeAuthorize, when given, with passwordlessLogin paused between
// /co/authenticate and /authorize.
func coBrowserLogin(t *testing.T, e *env, ctx context.Context, spa *browsertest.SPA, email string, beforeAuthorize func()) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(spa.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.Click(chromedp.ID("send")),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-state="sent"]`)),
	); err != nil {
		status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("status")))
		t.Fatalf("passwordlessStart: %v (status %q)", err, status)
	}
	code := codeFrom(t, e.SMTP.Wait(t, 1, 10*time.Second)[0])
	if beforeAuthorize != nil {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.pauseBeforeAuthorize = true`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("code"), code), chromedp.Click(chromedp.ID("signin"))); err != nil {
		t.Fatalf("typing the code: %v", err)
	}
	if beforeAuthorize != nil {
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#status[data-state="paused"]`))); err != nil {
			status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("status")))
			t.Fatalf("passwordlessLogin: %v (status %q)", err, status)
		}
		beforeAuthorize()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`window.resume()`)); err != nil {
			t.Fatal(err)
		}
	}
}

// wantLoggedIn waits for the SPA's callback to accept the ID token.
func wantLoggedIn(t *testing.T, ctx context.Context, spa *browsertest.SPA, email string) {
	t.Helper()
	// parseHash fetches the JWKS before it answers.
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#result[data-done="1"]`))); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("waiting for the callback (at %s): %v", loc, err)
	}
	result, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("result")))
	if !strings.HasPrefix(result, "logged in as "+email+" (email|") {
		t.Fatalf("the SPA's callback says %q", result)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasPrefix(loc, spa.URL+"/callback#") {
		t.Errorf("the browser is at %q (%v), want the SPA's callback", loc, err)
	}
}

// An SPA on another origin (another port of 127.0.0.1: the same site, so
// Sesame's cookie from /co/authenticate is kept over plain http) logs in
// with the unmodified auth0-js: passwordlessStart, the code typed,
// passwordlessLogin (/co/authenticate, then /authorize with the ticket and
// the cookie), parseHash.
func TestBrowser_CrossOriginPasswordlessLoginWithAuth0JS(t *testing.T) {
	spa := browsertest.ServeSPA(t, browsertest.SameSite)
	e := newEnv(t, envOptions{spaOrigin: spa.URL})
	serveCOSPA(spa, strings.TrimSuffix(e.URL, "/"))
	ctx := browsertest.New(t)
	coBrowserLogin(t, e, ctx, spa, "ada@example.com", nil)
	wantLoggedIn(t, ctx, spa, "ada@example.com")
	if n := len(e.events("scoa")); n != 1 {
		t.Errorf("%d scoa events, want 1", n)
	}
}

// The same, but the browser loses the ticket's cookie between
// /co/authenticate and /authorize (as where third-party cookies are
// blocked): /authorize's verification page frames the SPA's
// cross_origin_loc, whose auth0-js crossOriginVerification hands over the
// verifier it kept, and the login completes.
func TestBrowser_CrossOriginVerificationPageWhenTheCookieIsGone(t *testing.T) {
	spa := browsertest.ServeSPA(t, browsertest.SameSite)
	e := newEnv(t, envOptions{spaOrigin: spa.URL})
	serveCOSPA(spa, strings.TrimSuffix(e.URL, "/"))
	ctx := browsertest.New(t)
	coBrowserLogin(t, e, ctx, spa, "ada@example.com", func() {
		cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.URL}})
		if err != nil {
			t.Fatal(err)
		}
		deleted := 0
		for _, c := range cookies.Cookies {
			if strings.HasPrefix(c.Name, "sesame_co_") {
				if !c.HTTPOnly {
					t.Errorf("%s is readable by scripts", c.Name)
				}
				if _, err := chromedp.Call(ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: c.Name, URL: e.URL}); err != nil {
					t.Fatal(err)
				}
				deleted++
			}
		}
		if deleted != 1 {
			t.Fatalf("%d ticket cookies in the browser, want 1", deleted)
		}
	})
	wantLoggedIn(t, ctx, spa, "ada@example.com")
}

// An origin that is not one of the client's web origins gets no CORS
// headers: the browser refuses the preflight, auth0-js reports the failure,
// no ticket is issued and the code is not even tried.
func TestBrowser_CrossOriginLoginFromAnOriginNotInWebOrigins(t *testing.T) {
	spa := browsertest.ServeSPA(t, browsertest.SameSite)
	intruder := browsertest.ServeSPA(t, browsertest.SameSite)
	e := newEnv(t, envOptions{spaOrigin: spa.URL})
	sesame := strings.TrimSuffix(e.URL, "/")
	serveCOSPA(intruder, sesame)
	code := e.startCode(browserClientID, "ada@example.com")

	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(intruder.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-state="failed"]`)),
	); err != nil {
		t.Fatalf("passwordlessLogin from %s: %v", intruder.URL, err)
	}
	status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("status")))
	if strings.Contains(status, "login_ticket") || strings.Contains(status, "access_denied") {
		t.Errorf("the page read an answer: %q", status)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != intruder.URL+"/" {
		t.Errorf("the browser went to %q", loc)
	}
	if n := len(e.events("scoa")); n != 0 {
		t.Errorf("%d tickets issued", n)
	}
	// The code was never tried: it still logs in from the right origin.
	res := e.postJSON("/co/authenticate", coBody(browserClientID, "ada@example.com", code), withOrigin(spa.URL))
	if res.Status != 200 || res.str("login_ticket") == "" {
		t.Errorf("the code from the client's own origin: %d %s", res.Status, res.Body)
	}
}
