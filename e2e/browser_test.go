package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/sesame-id/sesame/internal/browsertest"
)

// The browser tests drive a real headless Chromium (internal/browsertest):
// they are skipped where no Chromium or no node_modules is found, and fail
// there under SESAME_REQUIRE_BROWSER=1, as in CI.

// screenshotsEnv names the variable that makes the browser tests rewrite
// the screenshots in docs/images.
const screenshotsEnv = "SESAME_UPDATE_SCREENSHOTS"

func TestBrowser_SPAOnAnotherOriginLoadsThePinnedAuth0JS(t *testing.T) {
	e := newEnv(t, envOptions{})
	spa := browsertest.ServeSPA(t, browsertest.CrossSite)
	sesame := strings.TrimSuffix(e.URL, "/")
	// auth0-js puts https:// before a domain unless the domain starts with
	// http, so the plain-HTTP test server is given with its scheme.
	spa.Page("/", fmt.Sprintf(`<!doctype html>
<html><head><meta charset="utf-8"><title>SPA</title><script src="%s"></script></head>
<body><p id="version"></p><p id="authorize"></p>
<script>
const webAuth = new auth0.WebAuth({
  domain: %q, clientID: %q, responseType: "token id_token",
  redirectUri: location.origin + "/callback",
});
document.getElementById("version").textContent = auth0.version.raw;
document.getElementById("authorize").textContent = webAuth.client.buildAuthorizeUrl({state: "st", nonce: "nn"});
</script></body></html>`, browsertest.Auth0JS, sesame, spaClientID))
	spa.Page("/spa-js", fmt.Sprintf(`<!doctype html>
<html><head><meta charset="utf-8"><title>SPA JS</title><script src="%s"></script></head>
<body><p id="sdk"></p>
<script>document.getElementById("sdk").textContent = typeof auth0.createAuth0Client;</script>
</body></html>`, browsertest.Auth0SPAJS))

	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(spa.URL+"/")); err != nil {
		t.Fatalf("opening the SPA: %v", err)
	}
	origin, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.origin`))
	if err != nil {
		t.Fatal(err)
	}
	if origin != spa.URL || strings.HasPrefix(sesame, origin) {
		t.Errorf("the page's origin is %s, want %s, another than Sesame's %s", origin, spa.URL, sesame)
	}
	version, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("version").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if want := browsertest.PinnedVersion(t, "auth0-js"); version != want {
		t.Errorf("the page runs auth0-js %q, package.json pins %q", version, want)
	}
	authorize, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("authorize").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(authorize)
	if err != nil || u.Scheme+"://"+u.Host != sesame || u.Path != "/authorize" ||
		u.Query().Get("client_id") != spaClientID || u.Query().Get("redirect_uri") != spa.URL+"/callback" {
		t.Errorf("auth0-js built the authorize URL %q, want %s/authorize for %s back to %s/callback", authorize, sesame, spaClientID, spa.URL)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(spa.URL+"/spa-js")); err != nil {
		t.Fatal(err)
	}
	sdk, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("sdk").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if sdk != "function" {
		t.Errorf("auth0-spa-js: typeof auth0.createAuth0Client = %q, want function", sdk)
	}
}

// callbackRecorder stands in for an application's callback on a host that
// does not exist, and keeps the requests the browser makes there.
type callbackRecorder chan *http.Request

func (c callbackRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	select {
	case c <- r:
	default: // a test reads the first request only
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, `<!doctype html><title>Callback</title><p id="landed">Signed in.</p>`)
}

func TestBrowser_MagicLinkConfirmationPageLogsInWithItsButton(t *testing.T) {
	e := newEnv(t, envOptions{})
	link := e.startLink(linkBody(webClientID, "ada@example.com", map[string]any{
		"redirect_uri": webCallback, "response_type": "code", "scope": "openid email", "state": "st-browser",
	}))

	ctx := browsertest.New(t)
	callback := make(callbackRecorder, 1)
	if err := browsertest.Intercept(ctx, callback, webCallback+"*"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(link.String()),
		chromedp.WaitVisible(chromedp.CSS(`button[type=submit]`)),
	); err != nil {
		t.Fatalf("opening the link: %v", err)
	}
	if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || title != "Sign in to Web App" {
		t.Errorf("the confirmation page's title is %q (%v)", title, err)
	}
	if os.Getenv(screenshotsEnv) == "1" {
		path := filepath.Join("..", "docs", "images", "magic-link-confirm.png")
		if err := browsertest.Screenshot(ctx, path); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("landed")),
	); err != nil {
		t.Fatalf("pressing Sign in and waiting for the callback: %v", err)
	}
	r := <-callback
	if r.Method != http.MethodGet || r.Form.Get("state") != "st-browser" || r.Form.Get("code") == "" {
		t.Fatalf("the browser reached the callback with %s %s", r.Method, r.URL)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasPrefix(loc, webCallback+"?") {
		t.Errorf("the browser is at %q (%v), want the callback", loc, err)
	}

	// The browser keeps Sesame's session, out of reach of scripts.
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.URL}})
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "sesame_session" {
			session = c
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteLax {
		t.Errorf("sesame_session in the browser: %+v, want HttpOnly and SameSite=Lax", session)
	}

	// The code is real: the application redeems it.
	tok := e.postForm("/oauth/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {r.Form.Get("code")}, "redirect_uri": {webCallback},
		"client_id": {webClientID}, "client_secret": {webSecret},
	})
	if tok.Status != http.StatusOK || tok.str("access_token") == "" {
		t.Fatalf("exchange: %d %s", tok.Status, tok.Body)
	}
	if claims := jwtClaims(t, tok.str("id_token")); claims["email"] != "ada@example.com" {
		t.Errorf("ID token claims %v", claims)
	}
}

// The form_post page submits itself with one inline script that its
// Content-Security-Policy allows by nonce; only a browser can tell that the
// policy lets it run.
func TestBrowser_FormPostPageSubmitsItselfUnderItsCSP(t *testing.T) {
	e := newEnv(t, envOptions{})
	link := e.startLink(linkBody(webClientID, "form.post@example.com", map[string]any{
		"redirect_uri": webCallback, "response_type": "code", "response_mode": "form_post", "state": "st-form",
	}))

	ctx := browsertest.New(t)
	callback := make(callbackRecorder, 1)
	if err := browsertest.Intercept(ctx, callback, webCallback+"*"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(link.String()),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("landed")),
	); err != nil {
		t.Fatalf("opening the link, pressing Sign in and waiting for the callback: %v", err)
	}
	r := <-callback
	if r.Method != http.MethodPost || r.URL.String() != webCallback ||
		r.PostForm.Get("state") != "st-form" || r.PostForm.Get("code") == "" {
		t.Errorf("the browser reached the callback with %s %s %v, want a POST of code and state", r.Method, r.URL, r.PostForm)
	}
}
