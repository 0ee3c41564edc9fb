package e2e

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-id/sesame/internal/browsertest"
)

// The hosted login page in a real browser: forms, redirects, cookies and
// its Content-Security-Policy as Chromium applies them.

// shot writes a screenshot of the page to docs/images/name when
// SESAME_UPDATE_SCREENSHOTS=1.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv(screenshotsEnv) != "1" {
		return
	}
	path := filepath.Join("..", "docs", "images", name)
	if err := browsertest.Screenshot(ctx, path); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// pageLogin opens /authorize for the web app in ctx and returns the code
// the callback received, after typing identifier and the code that code()
// reads (a wrong one first, when wrongFirst).
func pageLogin(t *testing.T, e *env, ctx context.Context, params url.Values, identifier string, code func() string, prefix string) *http.Request {
	t.Helper()
	callback := make(callbackRecorder, 1)
	if err := browsertest.Intercept(ctx, callback, webCallback+"*"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.URL+"authorize?"+params.Encode()),
		chromedp.WaitVisible(chromedp.ID("identifier")),
	); err != nil {
		t.Fatalf("opening /authorize: %v", err)
	}
	shot(t, ctx, prefix+"-identifier.png")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("identifier"), identifier),
		chromedp.Click(chromedp.CSS(`form[action$="/login/identifier"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("code")),
	); err != nil {
		t.Fatalf("sending to %s: %v", identifier, err)
	}
	value := code()
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("code"), wrongCode(value)),
		chromedp.Click(chromedp.CSS(`form[action$="/login/code"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("problem")),
	); err != nil {
		t.Fatalf("a wrong code: %v", err)
	}
	shot(t, ctx, prefix+"-wrong-code.png")
	if problem, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("problem"))); err != nil || !strings.Contains(strings.ToLower(problem), "code") {
		t.Errorf("after a wrong code the page says %q (%v)", problem, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("code"), value),
		chromedp.Click(chromedp.CSS(`form[action$="/login/code"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("landed")),
	); err != nil {
		t.Fatalf("the right code: %v", err)
	}
	select {
	case r := <-callback:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the callback was not reached")
		return nil
	}
}

func webAuthorize(connection, state, challenge string) url.Values {
	return url.Values{"client_id": {webClientID}, "response_type": {"code"}, "redirect_uri": {webCallback},
		"scope": {"openid email"}, "state": {state}, "connection": {connection},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
}

// Email → code → back to the application with a code, exchanged with PKCE;
// then a second /authorize comes straight back (SSO).
func TestBrowser_HostedPageEmailCodeAndSSO(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := browsertest.New(t)
	verifier, challenge := pkce()
	r := pageLogin(t, e, ctx, webAuthorize("email", "st-page", challenge), "grace@example.com", func() string {
		return codeFrom(t, e.SMTP.Wait(t, 1, 10*time.Second)[0])
	}, "login-email")
	if r.Form.Get("state") != "st-page" || r.Form.Get("code") == "" {
		t.Fatalf("callback %s", r.URL)
	}
	tok := e.postForm("/oauth/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {r.Form.Get("code")}, "redirect_uri": {webCallback},
		"client_id": {webClientID}, "client_secret": {webSecret}, "code_verifier": {verifier},
	})
	if tok.Status != 200 || jwtClaims(t, tok.str("id_token"))["email"] != "grace@example.com" {
		t.Fatalf("exchange: %d %s", tok.Status, tok.Body)
	}

	// SSO: the browser's session answers the next request, no page.
	callback := make(callbackRecorder, 1)
	if err := browsertest.Intercept(ctx, callback, webCallback+"*"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.URL+"authorize?"+webAuthorize("email", "st-sso", challenge).Encode()),
		chromedp.WaitVisible(chromedp.ID("landed")),
	); err != nil {
		t.Fatalf("second /authorize: %v", err)
	}
	if r := <-callback; r.Form.Get("state") != "st-sso" || r.Form.Get("code") == "" {
		t.Fatalf("SSO callback %s", r.URL)
	}

	// Logout ends the session: the next /authorize shows the page again.
	bye := make(callbackRecorder, 1)
	if err := browsertest.Intercept(ctx, bye, "https://app.example.com/bye*"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.URL+"v2/logout?"+url.Values{"client_id": {webClientID}, "returnTo": {"https://app.example.com/bye"}}.Encode()),
		chromedp.WaitVisible(chromedp.ID("landed")),
	); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.URL+"authorize?"+webAuthorize("email", "st-after", challenge).Encode()),
		chromedp.WaitVisible(chromedp.ID("identifier")),
	); err != nil {
		t.Fatalf("after logout, /authorize does not show the page: %v", err)
	}
}

// The page by SMS.
func TestBrowser_HostedPageSMS(t *testing.T) {
	tw := startFakeTwilio(t)
	e := newEnv(t, envOptions{twilioURL: tw.URL})
	ctx := browsertest.New(t)
	_, challenge := pkce()
	r := pageLogin(t, e, ctx, webAuthorize("sms", "st-sms", challenge), "+1 650 253 0177", func() string {
		msgs := tw.messages()
		if len(msgs) != 1 || msgs[0].Get("To") != "+16502530177" {
			t.Fatalf("SMS sent: %v", msgs)
		}
		return regexp.MustCompile(`\d{6}`).FindString(msgs[0].Get("Body"))
	}, "login-sms")
	if r.Form.Get("state") != "st-sms" || r.Form.Get("code") == "" {
		t.Fatalf("callback %s", r.URL)
	}
}

// A magic link from the page, opened in the same browser and in another.
func TestBrowser_HostedPageMagicLinkInThisAndAnotherBrowser(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, challenge := pkce()
	for i, where := range []string{"same", "another"} {
		ctx := browsertest.New(t)
		state := "st-link-" + where
		if err := chromedp.Do(ctx,
			chromedp.Navigate(e.URL+"authorize?"+webAuthorize("email-link", state, challenge).Encode()),
			chromedp.WaitVisible(chromedp.ID("identifier")),
			chromedp.SendKeys(chromedp.ID("identifier"), "linus@example.com"),
			chromedp.Click(chromedp.CSS(`form[action$="/login/identifier"] button[type=submit]`)),
			chromedp.WaitNotPresent(chromedp.ID("identifier")),
		); err != nil {
			t.Fatalf("%s: asking for a link: %v", where, err)
		}
		if i == 0 {
			shot(t, ctx, "login-link-sent.png")
		}
		m := e.SMTP.Wait(t, i+1, 10*time.Second)[i]
		link := regexp.MustCompile(`https?://[^\s"<>]+verify_redirect[^\s"<>]*`).FindString(m.Text)
		if link == "" {
			t.Fatalf("no link in %q", m.Text)
		}
		open := ctx
		if where == "another" {
			open = browsertest.New(t)
		}
		callback := make(callbackRecorder, 1)
		if err := browsertest.Intercept(open, callback, webCallback+"*"); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(open,
			chromedp.Navigate(link),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.ID("landed")),
		); err != nil {
			t.Fatalf("%s browser: opening the link: %v", where, err)
		}
		if r := <-callback; r.Form.Get("state") != state || r.Form.Get("code") == "" {
			t.Fatalf("%s browser: callback %s", where, r.URL)
		}
	}
}

// The choose page, for the screenshots and the keyboard: one button per
// connection.
func TestBrowser_HostedPageChoosesAConnection(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := browsertest.New(t)
	_, challenge := pkce()
	params := webAuthorize("", "st", challenge)
	params.Del("connection")
	params.Set("ui_locales", "fr")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.URL+"authorize?"+params.Encode()),
		chromedp.WaitVisible(chromedp.CSS(`button[name=connection][value=sms]`)),
	); err != nil {
		t.Fatalf("the choose page: %v", err)
	}
	shot(t, ctx, "login-choose-fr.png")
	lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	if err != nil || lang != "fr" {
		t.Errorf("lang = %q (%v), want fr", lang, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[name=connection][value=sms]`)),
		chromedp.WaitVisible(chromedp.CSS(`input#identifier[type=tel]`)),
	); err != nil {
		t.Fatalf("choosing sms: %v", err)
	}
}
