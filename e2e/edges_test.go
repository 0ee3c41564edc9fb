package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// request sends method to path (relative to the issuer) with no body.
func (e *env) request(method, path string) response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.URL+strings.TrimPrefix(path, "/"), nil)
	return e.do(req)
}

// wantJSONError checks a 404 or 405 in Auth0's error shape.
func wantJSONError(t *testing.T, r response, method, path string, status int, code, allow string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s %s: %d %s, want %d", method, path, r.Status, r.Body, status)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if method != http.MethodHead && (r.str("error") != code || r.str("error_description") == "") {
		t.Errorf("%s %s: body %s, want error %q and a description", method, path, r.Body, code)
	}
	if got := r.Header.Get("Allow"); got != allow {
		t.Errorf("%s %s: Allow %q, want %q", method, path, got, allow)
	}
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("%s %s: Access-Control-Allow-Origin %q", method, path, got)
	}
}

var noRouteCases = []struct {
	method, path string
	status       int
	code, allow  string
}{
	{"GET", "/oauth/token", 405, "method_not_allowed", "POST"},
	{"HEAD", "/oauth/token", 405, "method_not_allowed", "POST"},
	// OPTIONS on the routes with CORS is a preflight (crossorigin_test.go).
	{"OPTIONS", "/passwordless/verify_redirect", 405, "method_not_allowed", "GET, HEAD, POST"},
	{"OPTIONS", "/health", 405, "method_not_allowed", "GET, HEAD"},
	{"GET", "/passwordless/start", 405, "method_not_allowed", "POST"},
	{"PUT", "/passwordless/verify_redirect", 405, "method_not_allowed", "GET, HEAD, POST"},
	{"DELETE", "/userinfo", 405, "method_not_allowed", "GET, HEAD, POST"},
	{"POST", "/.well-known/jwks.json", 405, "method_not_allowed", "GET, HEAD"},
	{"PATCH", "/health", 405, "method_not_allowed", "GET, HEAD"},
	{"GET", "/", 404, "not_found", ""},
	{"GET", "/nope", 404, "not_found", ""},
	{"OPTIONS", "/nope", 404, "not_found", ""},
	{"POST", "/api/v1/users", 404, "not_found", ""},
	{"GET", "/oauth/token/", 404, "not_found", ""},
	{"HEAD", "/nope", 404, "not_found", ""},
}

func TestEdges_UnknownPathsAndWrongMethodsAnswerAuth0sJSONShape(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, c := range noRouteCases {
		wantJSONError(t, e.request(c.method, c.path), c.method, c.path, c.status, c.code, c.allow)
	}
	// The routes themselves still answer.
	if r := e.request("GET", "/health"); r.Status != 200 {
		t.Errorf("GET /health: %d %s", r.Status, r.Body)
	}
	if r := e.request("HEAD", "/.well-known/jwks.json"); r.Status != 200 {
		t.Errorf("HEAD /.well-known/jwks.json: %d", r.Status)
	}
}

func TestEdges_AnIssuerWithAPathAnswersJSONInsideAndOutsideIt(t *testing.T) {
	e := newEnv(t, envOptions{issuerPath: "auth/"})
	for _, c := range noRouteCases {
		wantJSONError(t, e.request(c.method, c.path), c.method, "/auth"+c.path, c.status, c.code, c.allow)
	}
	if r := e.request("GET", "/.well-known/openid-configuration"); r.Status != 200 || r.str("issuer") != e.URL {
		t.Errorf("discovery under the issuer's path: %d %s", r.Status, r.Body)
	}
	root := strings.TrimSuffix(e.URL, "auth/")
	for _, p := range []string{"", "health", "oauth/token", "authx/health", "auth"} {
		req, _ := http.NewRequest("GET", root+p, nil)
		wantJSONError(t, e.do(req), "GET", "/"+p, 404, "not_found", "")
	}
}

const hsts = "max-age=31536000; includeSubDomains"

func TestEdges_HSTSOnEveryAnswerOfAnHTTPSIssuer(t *testing.T) {
	e := newEnv(t, envOptions{tls: true})
	answers := map[string]response{
		"discovery":            e.get("/.well-known/openid-configuration"),
		"start error":          e.postJSON("/passwordless/start", map[string]any{"client_id": "nope", "connection": "email"}),
		"token error":          e.postForm("/oauth/token", nil),
		"userinfo without one": e.get("/userinfo"),
		"magic link page":      e.get("/passwordless/verify_redirect"),
		"unknown path":         e.get("/nope"),
		"wrong method":         e.get("/oauth/token"),
		"options":              e.request("OPTIONS", "/passwordless/start"),
	}
	for name, r := range answers {
		if got := r.Header.Get("Strict-Transport-Security"); got != hsts {
			t.Errorf("%s (%d): Strict-Transport-Security %q, want %q", name, r.Status, got, hsts)
		}
	}
}

func TestEdges_NoHSTSForAnHTTPIssuer(t *testing.T) {
	e := newEnv(t, envOptions{})
	for name, r := range map[string]response{
		"discovery":    e.get("/.well-known/openid-configuration"),
		"start error":  e.postJSON("/passwordless/start", map[string]any{"client_id": "nope", "connection": "email"}),
		"unknown path": e.get("/nope"),
	} {
		if got := r.Header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("%s: Strict-Transport-Security %q over an http issuer", name, got)
		}
	}
}
