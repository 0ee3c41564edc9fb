package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// verifyBody is the body auth0.js sends to /passwordless/verify.
func verifyBody(email, code string) map[string]any {
	return map[string]any{"client_id": nativeClientID, "connection": "email", "email": email, "verification_code": code}
}

func TestVerify_ChecksWithoutConsuming(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.startCode(nativeClientID, "check@example.com")
	for i := 0; i < 2; i++ {
		r := e.postJSON("/passwordless/verify", verifyBody("check@example.com", code))
		if r.Status != 200 || strings.TrimSpace(string(r.Body)) != "{}" {
			t.Fatalf("verify %d: %d %s", i, r.Status, r.Body)
		}
	}
	if r := e.otp(nativeClientID, "check@example.com", code, "openid"); r.Status != 200 {
		t.Fatalf("the code after /passwordless/verify: %d %s", r.Status, r.Body)
	}
	if r := e.postJSON("/passwordless/verify", verifyBody("check@example.com", code)); r.Status == 200 {
		t.Errorf("a used code still verifies")
	}
	wantCleanLog(t, e, code)
}

// TestVerify_ThenVerifyRedirect is auth0.js's passwordlessVerify: the user
// types the code, auth0.js checks it, then sends the browser to a
// verify_redirect URL it builds itself.
func TestVerify_ThenVerifyRedirect(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.startCode(webClientID, "typed@example.com")
	r := e.postJSON("/passwordless/verify", map[string]any{"client_id": webClientID, "connection": "email", "email": "typed@example.com", "verification_code": code})
	if r.Status != 200 {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	link, _ := url.Parse(e.URL + "passwordless/verify_redirect?" + url.Values{
		"client_id": {webClientID}, "connection": {"email"}, "email": {"typed@example.com"}, "verification_code": {code},
		"redirect_uri": {webCallback}, "response_type": {"code"}, "state": {"js-state"}, "auth0Client": {"eyJuYW1lIjoiYXV0aDAuanMifQ"},
	}.Encode())
	b := e.browser()
	p := redirect(t, submit(t, b, openLink(t, b, e, link)), webCallback+"?", false)
	if p.Get("code") == "" || p.Get("state") != "js-state" {
		t.Fatalf("callback parameters %v", p)
	}
	if r := e.exchange(p.Get("code")); r.Status != 200 {
		t.Errorf("exchange: %d %s", r.Status, r.Body)
	}
}

func TestVerify_WrongCodeUsesATry(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.startCode(nativeClientID, "guess@example.com")
	for i := 0; i < 3; i++ {
		if r := e.postJSON("/passwordless/verify", verifyBody("guess@example.com", wrongCode(code))); r.Status == 200 {
			t.Fatalf("a wrong code verified: %s", r.Body)
		}
	}
	wantError(t, e.otp(nativeClientID, "guess@example.com", code, ""), 403, "invalid_grant", descMax)

	// Tries at /passwordless/verify and at /oauth/token add up.
	code = e.startCode(nativeClientID, "guess@example.com")
	for i := 0; i < 2; i++ {
		e.postJSON("/passwordless/verify", verifyBody("guess@example.com", wrongCode(code)))
	}
	wantError(t, e.otp(nativeClientID, "guess@example.com", wrongCode(code), ""), 403, "invalid_grant", descWrong)
	if r := e.postJSON("/passwordless/verify", verifyBody("guess@example.com", code)); r.Status == 200 {
		t.Errorf("the right code verified after three wrong tries")
	}
}

// The issue asks for "the errors of spec §3.2", which lists 401
// invalid_user_password for a wrong code.
func TestVerify_WrongCodeAnswersTheSpecError(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.startCode(nativeClientID, "spec@example.com")
	wantError(t, e.postJSON("/passwordless/verify", verifyBody("spec@example.com", wrongCode(code))), 401, "invalid_user_password", "")
}

func TestVerify_Errors(t *testing.T) {
	e := newEnv(t, envOptions{})
	body := func(kv ...string) map[string]any {
		b := verifyBody("x@example.com", "123456")
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(b, kv[i])
			} else {
				b[kv[i]] = kv[i+1]
			}
		}
		return b
	}
	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
		desc   string
	}{
		{"missing client_id", body("client_id", ""), 400, "invalid_request", "missing client_id parameter"},
		{"missing connection", body("connection", ""), 400, "invalid_request", "missing connection parameter"},
		{"missing email", body("email", ""), 400, "invalid_request", ""},
		{"missing code", body("verification_code", ""), 400, "invalid_request", ""},
		{"unknown client", body("client_id", "nope"), 403, "unauthorized_client", "invalid client"},
		{"unknown connection", body("connection", "nope"), 400, "invalid_request", "the connection was not found"},
		{"connection not enabled", body("connection", "closed"), 400, "invalid_request", "the connection was disabled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.postJSON("/passwordless/verify", c.body), c.status, c.code, c.desc)
		})
	}
	if r := e.get("/passwordless/verify"); r.Status == http.StatusOK {
		t.Errorf("GET /passwordless/verify: %d", r.Status)
	}
}
