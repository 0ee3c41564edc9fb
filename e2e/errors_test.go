package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestStart_Errors(t *testing.T) {
	e := newEnv(t, envOptions{})
	ok := func(extra map[string]any) map[string]any {
		b := map[string]any{"client_id": nativeClientID, "connection": "email", "email": "x@example.com", "send": "code"}
		for k, v := range extra {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	cases := []struct {
		name   string
		body   any
		status int
		code   string
		desc   string
	}{
		{"missing client_id", ok(map[string]any{"client_id": nil}), 400, "bad.client_id", "Missing required property: client_id"},
		{"unknown client_id", ok(map[string]any{"client_id": "nope"}), 400, "bad.client_id", "Unknown client: nope"},
		{"missing connection", ok(map[string]any{"connection": nil}), 400, "bad.connection", "Missing required property: connection"},
		{"unknown connection", ok(map[string]any{"connection": "nope"}), 400, "bad.connection", "Connection does not exist"},
		{"connection not enabled", ok(map[string]any{"connection": "closed"}), 400, "bad.connection", "Connection is disabled"},
		{"not passwordless", map[string]any{"client_id": webClientID, "client_secret": webSecret, "connection": "db", "email": "x@example.com"}, 400, "bad.connection", "Invalid connection strategy. It must either be a passwordless connection"},
		{"missing email", ok(map[string]any{"email": nil}), 400, "bad.email", "Missing required property: email"},
		{"invalid email", ok(map[string]any{"email": "not-an-address"}), 400, "bad.email", "Object didn't pass validation for format email: the address has no '@'"},
		{"blank email", ok(map[string]any{"email": "  "}), 400, "bad.email", "Missing required property: email"},
		{"email with a bidi override", ok(map[string]any{"email": "a@example.com\u202e"}), 400, "bad.email", "Object didn't pass validation for format email: the address contains an invisible formatting character (bidi control, zero-width character or soft hyphen), U+202E"},
		{"email with a name", ok(map[string]any{"email": "Eve <eve@example.com>"}), 400, "bad.email", ""},
		{"email of wrong type", ok(map[string]any{"email": 42}), 400, "bad.email", "error in email - invalid type: number (expected string)"},
		{"authParams not an object", ok(map[string]any{"authParams": "scope=openid"}), 400, "bad.authParams", "error in authParams - invalid type: string (expected object)"},
		{"unknown property", ok(map[string]any{"type": "code"}), 400, "bad.request", "the following properties are not allowed: type"},
		{"two unknown properties", ok(map[string]any{"type": "code", "foo": 1}), 400, "bad.request", "the following properties are not allowed: foo, type"},
		{"bad send", ok(map[string]any{"send": "carrier-pigeon"}), 400, "bad.send", "No enum match for: carrier-pigeon"},
		{"confidential without secret", map[string]any{"client_id": webClientID, "connection": "email", "email": "x@example.com", "send": "code"}, 401, "unauthorized_client", "Client authentication is required"},
		{"confidential with wrong secret", map[string]any{"client_id": webClientID, "client_secret": "wrong", "connection": "email", "email": "x@example.com", "send": "code"}, 401, "unauthorized_client", "Invalid client credentials"},
		{"malformed JSON", `{"client_id":`, 400, "bad.request", ""},
		{"JSON array", `[1,2]`, 400, "bad.request", ""},
		{"JSON null", `null`, 400, "bad.request", ""},
		{"trailing garbage", `{"client_id":"a"} x`, 400, "bad.request", ""},
		{"body too large", `{"client_id":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "bad.request", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.postJSON("/passwordless/start", c.body), c.status, c.code, c.desc)
		})
	}
	t.Run("wrong content type", func(t *testing.T) {
		r := e.postForm("/passwordless/start", url.Values{"client_id": {nativeClientID}})
		wantError(t, r, 400, "bad.request", "")
	})
	t.Run("secret with HTTP Basic", func(t *testing.T) {
		r := e.postJSON("/passwordless/start", map[string]any{"client_id": webClientID, "connection": "email", "email": "x@example.com", "send": "code"},
			func(r *http.Request) { r.SetBasicAuth(webClientID, webSecret) })
		if r.Status != 200 {
			t.Fatalf("Basic auth: %d %s", r.Status, r.Body)
		}
	})
	if n := len(e.SMTP.Messages()); n > 1 {
		t.Errorf("%d messages sent for failed requests", n-1)
	}
}

func TestToken_Errors(t *testing.T) {
	e := newEnv(t, envOptions{})
	const grant = "http://auth0.com/oauth/grant-type/passwordless/otp"
	form := func(kv ...string) url.Values {
		f := url.Values{"grant_type": {grant}, "client_id": {nativeClientID}, "username": {"x@example.com"}, "otp": {"123456"}, "realm": {"email"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				f.Del(kv[i])
			} else {
				f.Set(kv[i], kv[i+1])
			}
		}
		return f
	}
	cases := []struct {
		name   string
		form   url.Values
		status int
		code   string
		desc   string
	}{
		{"no code was ever sent", form(), 403, "invalid_grant", descWrong},
		{"grant not allowed", form("client_id", noGrantClientID), 403, "unauthorized_client", "Grant type 'http://auth0.com/oauth/grant-type/passwordless/otp' not allowed for the client."},
		{"SPA", form("client_id", spaClientID), 403, "unauthorized_client", "Grant type 'http://auth0.com/oauth/grant-type/passwordless/otp' not allowed for the client."},
		{"missing grant_type", form("grant_type", ""), 400, "invalid_request", "Missing required parameter: grant_type"},
		{"unsupported grant", form("grant_type", "password"), 400, "unsupported_grant_type", ""},
		{"missing otp", form("otp", ""), 400, "invalid_request", "Missing required parameter: otp"},
		{"missing username", form("username", ""), 400, "invalid_request", "Missing required parameter: username"},
		{"missing realm", form("realm", ""), 400, "invalid_request", "Missing required parameter: realm"},
		{"unknown realm", form("realm", "nope"), 400, "invalid_request", ""},
		{"unknown client", form("client_id", "nope"), 401, "invalid_client", ""},
		{"confidential without secret", form("client_id", webClientID), 401, "invalid_client", ""},
		{"confidential with wrong secret", form("client_id", webClientID, "client_secret", "wrong"), 401, "invalid_client", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.postForm("/oauth/token", c.form), c.status, c.code, c.desc)
		})
	}
	t.Run("JSON body", func(t *testing.T) {
		r := e.postJSON("/oauth/token", map[string]any{"grant_type": grant, "client_id": nativeClientID, "username": "x@example.com", "otp": "123456", "realm": "email"})
		wantError(t, r, 403, "invalid_grant", descWrong)
	})
	t.Run("JSON with a non-string value", func(t *testing.T) {
		r := e.postJSON("/oauth/token", map[string]any{"grant_type": grant, "client_id": nativeClientID, "otp": 123456})
		wantError(t, r, 400, "invalid_request", "")
	})
	t.Run("wrong content type", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.URL+"oauth/token", strings.NewReader("grant_type=x"))
		req.Header.Set("Content-Type", "text/plain")
		wantError(t, e.do(req), 400, "invalid_request", "")
	})
	t.Run("client_secret_basic", func(t *testing.T) {
		code := e.startCode(webClientID, "basic@example.com")
		f := form("client_id", "", "username", "basic@example.com", "otp", code)
		r := e.postForm("/oauth/token", f, func(r *http.Request) { r.SetBasicAuth(webClientID, webSecret) })
		if r.Status != 200 {
			t.Fatalf("Basic auth: %d %s", r.Status, r.Body)
		}
	})
	t.Run("wrong Basic secret", func(t *testing.T) {
		r := e.postForm("/oauth/token", form("client_id", ""), func(r *http.Request) { r.SetBasicAuth(webClientID, "wrong") })
		wantError(t, r, 401, "invalid_client", "")
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("no WWW-Authenticate on a failed Basic authentication")
		}
	})
}

func TestWellKnown(t *testing.T) {
	e := newEnv(t, envOptions{})
	d := e.get("/.well-known/openid-configuration")
	if d.Status != 200 || d.str("issuer") != e.URL || d.str("token_endpoint") != e.URL+"oauth/token" ||
		d.str("jwks_uri") != e.URL+".well-known/jwks.json" || d.str("userinfo_endpoint") != e.URL+"userinfo" {
		t.Fatalf("discovery: %d %s", d.Status, d.Body)
	}
	if d.str("authorization_endpoint") != e.URL+"authorize" {
		t.Errorf("authorization_endpoint = %q", d.str("authorization_endpoint"))
	}
	// Every endpoint it advertises exists.
	for _, f := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "revocation_endpoint"} {
		if r := e.get(strings.TrimPrefix(d.str(f), e.URL)); r.Status == http.StatusNotFound {
			t.Errorf("%s %s: 404", f, d.str(f))
		}
	}
	k := e.get("/.well-known/jwks.json")
	keys, _ := k.JSON["keys"].([]any)
	if k.Status != 200 || len(keys) != 1 {
		t.Fatalf("jwks: %d %s", k.Status, k.Body)
	}
	key := keys[0].(map[string]any)
	for _, f := range []string{"kid", "kty", "alg", "use", "n", "e"} {
		if key[f] == nil {
			t.Errorf("JWK lacks %s", f)
		}
	}
	for _, f := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if key[f] != nil {
			t.Errorf("JWK publishes the private part %s", f)
		}
	}
}
