package e2e

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// loggedIn is a browser with a Sesame session for ada, from a cross-origin
// login of the Cross Origin SPA, with the ID token it got.
func loggedIn(t *testing.T, e *env) (c *http.Client, sessionValue, idToken string) {
	t.Helper()
	tk := e.coAuthenticate("ada@example.com")
	c = e.browser()
	res := coVerify(t, e, c, coClientID, tk.Ticket, tk.Verifier, nil)
	p := redirect(t, res, coCallback+"?", false)
	tok := e.postForm("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {coClientID},
		"code": {p.Get("code")}, "redirect_uri": {coCallback}, "code_verifier": {pkceVerifier}})
	if tok.Status != http.StatusOK {
		t.Fatalf("token: %d %s", tok.Status, tok.Body)
	}
	return c, sessionCookie(t, res).Value, tok.str("id_token")
}

// wantSessionEnded checks that the logout answer cleared the cookie and
// that the session is gone from the store.
func wantSessionEnded(t *testing.T, e *env, res response, value string) {
	t.Helper()
	if c := sessionCookie(t, res); c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("session cookie %+v, want it cleared", c)
	}
	if _, err := e.App.Store.Session(t.Context(), sha(value), time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session after logout: %v, want gone", err)
	}
}

// wantSignedOutPage checks the signed-out page with status, and no redirect.
func wantSignedOutPage(t *testing.T, res response, status int) {
	t.Helper()
	if res.Status != status || res.Header.Get("Location") != "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("got %d Location %q, want the %d signed-out page", res.Status, res.Header.Get("Location"), status)
	}
	if !strings.Contains(string(res.Body), "You are signed out") {
		t.Errorf("page: %s", res.Body)
	}
	refused := strings.Contains(string(res.Body), "could not send you back")
	if refused != (status != http.StatusOK) {
		t.Errorf("the page says the return address was refused: %v, status %d", refused, status)
	}
}

func TestLogout_V2ReturnsOnlyToAnAllowedLogoutURL(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, returnTo := range []string{
		"https://evil.example.com/",
		"https://co.example.com/bye?next=https://evil.example.com",
		"https://co.example.com.evil.com/bye",
		"https://co.example.com/bye/../../evil",
		"//evil.example.com",
		"javascript:alert(1)",
		"https://co.example.com@evil.example.com/bye",
		"https://co.example.com/callback", // a callback is no logout URL
	} {
		t.Run(returnTo, func(t *testing.T) {
			c, value, _ := loggedIn(t, e)
			res := browse(t, c, http.MethodGet, e.URL+"v2/logout?client_id="+coClientID+"&returnTo="+url.QueryEscape(returnTo), nil)
			wantSignedOutPage(t, res, http.StatusBadRequest)
			// Signed out all the same.
			wantSessionEnded(t, e, res, value)
		})
	}
	t.Run("no client", func(t *testing.T) {
		c, value, _ := loggedIn(t, e)
		res := browse(t, c, http.MethodGet, e.URL+"v2/logout?returnTo="+url.QueryEscape("https://co.example.com/bye"), nil)
		wantSignedOutPage(t, res, http.StatusBadRequest)
		wantSessionEnded(t, e, res, value)
	})
	t.Run("no returnTo", func(t *testing.T) {
		c, value, _ := loggedIn(t, e)
		res := browse(t, c, http.MethodGet, e.URL+"v2/logout?client_id="+coClientID, nil)
		if res.Status != http.StatusFound || res.Header.Get("Location") != "https://co.example.com/bye" {
			t.Errorf("got %d %q, want the first allowed logout URL", res.Status, res.Header.Get("Location"))
		}
		wantSessionEnded(t, e, res, value)
	})
	t.Run("nothing", func(t *testing.T) {
		c, value, _ := loggedIn(t, e)
		res := browse(t, c, http.MethodGet, e.URL+"v2/logout", nil)
		wantSignedOutPage(t, res, http.StatusOK)
		wantSessionEnded(t, e, res, value)
	})
	t.Run("unknown client", func(t *testing.T) {
		res := browse(t, e.browser(), http.MethodGet, e.URL+"v2/logout?client_id=nope&returnTo="+url.QueryEscape("https://co.example.com/bye"), nil)
		wantSignedOutPage(t, res, http.StatusBadRequest)
	})
	t.Run("without a session", func(t *testing.T) {
		res := browse(t, e.browser(), http.MethodGet, e.URL+"v2/logout?client_id="+coClientID+"&returnTo="+url.QueryEscape("https://co.example.com/"), nil)
		if res.Status != http.StatusFound || res.Header.Get("Location") != "https://co.example.com/" {
			t.Errorf("got %d %q", res.Status, res.Header.Get("Location"))
		}
		if v := res.Header.Values("Set-Cookie"); len(v) != 0 {
			t.Errorf("cookies %q", v)
		}
	})
}

func TestLogout_OIDCEndSessionWithIDTokenHint(t *testing.T) {
	e := newEnv(t, envOptions{clock: true})
	disc := e.get("/.well-known/openid-configuration")
	if disc.str("end_session_endpoint") != e.URL+"oidc/logout" {
		t.Errorf("end_session_endpoint = %q", disc.str("end_session_endpoint"))
	}
	c, value, idToken := loggedIn(t, e)
	// An expired hint is still a hint.
	e.Clock.Advance(48 * time.Hour)
	q := url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://co.example.com/bye"}, "state": {"s&1"}}
	res := browse(t, c, http.MethodGet, e.URL+"oidc/logout?"+q.Encode(), nil)
	if res.Status != http.StatusFound || res.Header.Get("Location") != "https://co.example.com/bye?state=s%261" {
		t.Errorf("got %d %q", res.Status, res.Header.Get("Location"))
	}
	wantSessionEnded(t, e, res, value)

	// A POSTed form works the same, with client_id instead of a hint.
	c, _, _ = loggedIn(t, e)
	res = browse(t, c, http.MethodPost, e.URL+"oidc/logout", url.Values{"client_id": {coClientID}, "post_logout_redirect_uri": {"https://co.example.com/"}})
	if res.Status != http.StatusFound || res.Header.Get("Location") != "https://co.example.com/" {
		t.Errorf("POST: got %d %q", res.Status, res.Header.Get("Location"))
	}

	for name, q := range map[string]url.Values{
		"a forged hint":             {"id_token_hint": {idToken[:len(idToken)-4] + "AAAA"}, "post_logout_redirect_uri": {"https://co.example.com/bye"}},
		"no client":                 {"post_logout_redirect_uri": {"https://co.example.com/bye"}},
		"another client's hint":     {"id_token_hint": {idToken}, "client_id": {spaClientID}, "post_logout_redirect_uri": {"https://co.example.com/bye"}},
		"a URL not allowed":         {"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://evil.example.com/"}},
		"an access token as a hint": {"id_token_hint": {e.otp(nativeClientID, "bob@example.com", e.startCode(nativeClientID, "bob@example.com"), "openid").str("access_token")}},
	} {
		t.Run(name, func(t *testing.T) {
			c, value, _ := loggedIn(t, e)
			res := browse(t, c, http.MethodGet, e.URL+"oidc/logout?"+q.Encode(), nil)
			wantSignedOutPage(t, res, http.StatusBadRequest)
			wantSessionEnded(t, e, res, value)
		})
	}
}
