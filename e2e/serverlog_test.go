package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestLogs_NoSecretAtDebug runs a login of every kind, with the server
// logging at debug, and searches the whole log for every code, magic-link
// verification value, PKCE verifier, login ticket, authorization code,
// token and client secret the test used or received: none may appear. (The
// development delivery line, which prints the message when there is no
// provider, is the documented exception; this server has an SMTP server
// and Twilio, so it has none.) It also checks that each request has its one
// access-log line with the route, request id and client_id.
func TestLogs_NoSecretAtDebug(t *testing.T) {
	tw := startFakeTwilio(t)
	e := newManagementEnv(t, envOptions{twilioURL: tw.URL})
	secrets := []string{webSecret, m2mSecret, twilioToken}
	keep := func(vs ...string) {
		for _, v := range vs {
			if v != "" {
				secrets = append(secrets, v)
			}
		}
	}

	// An email code: a wrong guess, the right one, a refresh, a revocation.
	const user = "logs.user@example.com"
	code := e.startCode(webClientID, user)
	keep(code)
	wantError(t, e.otp(webClientID, user, wrongCode(code), "openid"), http.StatusForbidden, "invalid_grant", descWrongEmail)
	tok := e.otp(webClientID, user, code, "openid offline_access")
	if tok.Status != http.StatusOK {
		t.Fatalf("email login: %d %s", tok.Status, tok.Body)
	}
	keep(tok.str("access_token"), tok.str("id_token"), tok.str("refresh_token"))
	ref := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {webClientID},
		"client_secret": {webSecret}, "refresh_token": {tok.str("refresh_token")}})
	if ref.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", ref.Status, ref.Body)
	}
	keep(ref.str("access_token"), ref.str("id_token"))
	if r := e.postForm("/oauth/revoke", url.Values{"client_id": {webClientID}, "client_secret": {webSecret},
		"token": {tok.str("refresh_token")}}); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}

	// An SMS code through Twilio.
	const phone = "+16502530177"
	res := e.postJSON("/passwordless/start", map[string]any{
		"client_id": webClientID, "client_secret": webSecret, "connection": "sms", "phone_number": phone})
	if res.Status != http.StatusOK {
		t.Fatalf("sms start: %d %s", res.Status, res.Body)
	}
	msgs := tw.messages()
	m := regexp.MustCompile(`(\d{6})`).FindStringSubmatch(msgs[len(msgs)-1].Get("Body"))
	if m == nil {
		t.Fatalf("no code in the SMS %v", msgs[len(msgs)-1])
	}
	keep(m[1])
	if r := e.smsOTP(webClientID, "sms", phone, m[1], "openid"); r.Status != http.StatusOK {
		t.Fatalf("sms login: %d %s", r.Status, r.Body)
	} else {
		keep(r.str("access_token"), r.str("id_token"))
	}

	// A magic link with PKCE, and its authorization code exchanged.
	verifier := oauth2.GenerateVerifier()
	link := e.startLink(linkBody(webClientID, user, map[string]any{
		"redirect_uri": webCallback, "scope": "openid", "state": "st",
		"code_challenge": oauth2.S256ChallengeFromVerifier(verifier), "code_challenge_method": "S256",
	}))
	keep(link.Query().Get("verification_code"), verifier)
	b := e.browser()
	cb := redirect(t, submit(t, b, openLink(t, b, e, link)), webCallback+"?", false)
	keep(cb.Get("code"))
	lt := e.exchange(cb.Get("code"), "code_verifier", verifier)
	if lt.Status != http.StatusOK {
		t.Fatalf("link code exchange: %d %s", lt.Status, lt.Body)
	}
	keep(lt.str("access_token"), lt.str("id_token"))

	// The hosted login page.
	pv, challenge := pkce()
	keep(pv)
	pb := e.pageBrowser()
	before := len(e.SMTP.Messages())
	var pageCode string
	p := pb.hostedLogin(t, map[string]string{
		"client_id": nativeClientID, "response_type": "code", "redirect_uri": "com.example.native://callback",
		"scope": "openid", "state": "st-1", "code_challenge": challenge, "code_challenge_method": "S256", "connection": "email",
	}, "logs.page@example.com", func() string {
		msgs := e.SMTP.Wait(t, before+1, 10e9)
		pageCode = codeFrom(t, msgs[len(msgs)-1])
		return pageCode
	})
	keep(pageCode)
	got := redirectParams(t, p.Location, "com.example.native://callback?")
	keep(got.Get("code"))
	pt := e.postForm("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {nativeClientID},
		"code": {got.Get("code")}, "redirect_uri": {"com.example.native://callback"}, "code_verifier": {pv}})
	if pt.Status != http.StatusOK {
		t.Fatalf("hosted page code exchange: %d %s", pt.Status, pt.Body)
	}
	keep(pt.str("access_token"), pt.str("id_token"))

	// Cross-origin authentication (auth0-js's embedded login).
	tk := e.coAuthenticate("logs.co@example.com")
	keep(tk.Ticket, tk.Verifier)

	// client_credentials, and a client secret rotated through the
	// Management API.
	mt := e.managementToken(m2mClientID, m2mSecret)
	keep(mt)
	rot := e.mgmt(http.MethodPost, "clients/"+webClientID+"/rotate-secret", mt, nil)
	if rot.Status != http.StatusOK {
		t.Fatalf("rotate-secret: %d %s", rot.Status, rot.Body)
	}
	keep(rot.str("client_secret"))

	logs := e.logs.String()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the server log holds a secret value the test used (%d characters, starting %.4q)", len(s), s)
		}
	}
	for _, word := range []string{"verification_code", "client_secret=", "code_verifier", "refresh_token="} {
		if strings.Contains(logs, word) {
			t.Errorf("the server log mentions %q", word)
		}
	}

	// Each request's line: the route that matched, a request id, and the
	// client the request named.
	var tokenLines int
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, "msg=request ") || !strings.Contains(line, `route="POST /oauth/token"`) {
			continue
		}
		tokenLines++
		if !regexp.MustCompile(`request_id=[0-9a-f]{16} `).MatchString(line) || !strings.Contains(line, "client_id=") {
			t.Errorf("access-log line without its request id or client_id: %s", line)
		}
	}
	if tokenLines < 5 {
		t.Errorf("%d access-log lines for POST /oauth/token, want one per token request", tokenLines)
	}
}
