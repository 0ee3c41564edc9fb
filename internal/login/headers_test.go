package login

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestSecurityHeaders(t *testing.T) {
	w := httptest.NewRecorder()
	SecurityHeaders(w, testNonce, "https://app.example.com", "com.example.app:")
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'nonce-" + testNonce + "'; script-src 'nonce-" + testNonce +
			"'; img-src https:; form-action 'self' https://app.example.com com.example.app:; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s:\n got %s\nwant %s", k, got, v)
		}
	}
}

func TestSecurityHeaders_LeavesOutWhatIsNotASource(t *testing.T) {
	for _, bad := range []string{
		"", "*", "'unsafe-inline'", "https://a.example; script-src *", "https://a.example/path",
		"https://a.example 'unsafe-eval'", "https://a.example,https://b.example", "https://", "https:/x",
		"1http:", "https://a.example\n", "'self'",
	} {
		w := httptest.NewRecorder()
		SecurityHeaders(w, testNonce, bad)
		if got := w.Header().Get("Content-Security-Policy"); !strings.Contains(got, "; form-action 'self'; ") {
			t.Errorf("%q made it into the policy: %s", bad, got)
		}
	}
	// A nonce that could end the directive is not used at all.
	w := httptest.NewRecorder()
	SecurityHeaders(w, "abc'; script-src *; x='0123456789")
	if got := w.Header().Get("Content-Security-Policy"); !strings.HasPrefix(got, "default-src 'none'; style-src 'none'; script-src 'none';") {
		t.Errorf("bad nonce: %s", got)
	}
}

func TestFormActionSource(t *testing.T) {
	tests := []struct {
		uri, want string
		ok        bool
	}{
		{"https://app.example.com/callback?x=1#f", "https://app.example.com", true},
		{"https://App.Example.com:8443/cb", "https://app.example.com:8443", true},
		{"http://localhost:3000/cb", "http://localhost:3000", true},
		{"http://[::1]:3000/cb", "http://[::1]:3000", true},
		{"com.example.app://example.eu.auth0.com/android/com.example.app/callback", "com.example.app:", true},
		{"com.example.app:/oauth2redirect", "com.example.app:", true},
		{"", "", false},
		{"/relative", "", false},
		{"javascript:alert(1)", "", false},
		{"data:text/html,x", "", false},
		{"https:///nohost", "", false},
		{"https://*.example.com/cb", "", false},
		{"https://user@app.example.com/cb", "", false},
		{"https://a.example;script-src/cb", "", false},
	}
	for _, tt := range tests {
		got, ok := FormActionSource(tt.uri)
		if got != tt.want && tt.ok || ok != tt.ok {
			t.Errorf("FormActionSource(%q) = %q, %v; want %q, %v", tt.uri, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNewNonce_FreshAndValid(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		n := NewNonce()
		if !validNonce(n) || len(n) != 22 {
			t.Fatalf("nonce %q", n)
		}
		if seen[n] {
			t.Fatalf("nonce %q twice", n)
		}
		seen[n] = true
	}
}

var cspNonce = regexp.MustCompile(`style-src 'nonce-([A-Za-z0-9_-]+)'; script-src 'nonce-([A-Za-z0-9_-]+)'`)

// TestRender_HeadersMatchThePage: the nonce of the policy is the nonce of
// the page, each response has its own, and form-action names where the
// login ends.
func TestRender_HeadersMatchThePage(t *testing.T) {
	v := FormPost{Page: Page{Lang: German, ReturnTo: "https://app.example.com/callback"},
		Action: "https://app.example.com/callback", Fields: []Field{{Name: "code", Value: "x"}}}
	var nonces []string
	for range 2 {
		w := httptest.NewRecorder()
		if err := Render(w, http.StatusOK, v); err != nil {
			t.Fatal(err)
		}
		if w.Code != http.StatusOK {
			t.Errorf("status %d", w.Code)
		}
		h := w.Header()
		if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if cl := h.Get("Content-Language"); cl != "de" {
			t.Errorf("Content-Language %q", cl)
		}
		policy := h.Get("Content-Security-Policy")
		m := cspNonce.FindStringSubmatch(policy)
		if m == nil || m[1] != m[2] {
			t.Fatalf("policy %s", policy)
		}
		if !strings.Contains(policy, "; form-action 'self' https://app.example.com; ") {
			t.Errorf("form-action does not allow the application: %s", policy)
		}
		doc, err := html.Parse(w.Body)
		if err != nil {
			t.Fatal(err)
		}
		for _, el := range append(all(doc, "style"), all(doc, "script")...) {
			if n, _ := attr(el, "nonce"); n != m[1] {
				t.Errorf("<%s nonce=%q>, policy's is %q", el.Data, n, m[1])
			}
		}
		nonces = append(nonces, m[1])
	}
	if nonces[0] == nonces[1] {
		t.Error("two responses share a nonce")
	}
}

func TestRender_CodePageAllowsTheRedirectAfterItsPost(t *testing.T) {
	w := httptest.NewRecorder()
	_ = Render(w, http.StatusUnauthorized, Code{Page: Page{ReturnTo: "com.example.app://cb"}, Form: testForm, Problem: WrongCode})
	if w.Code != http.StatusUnauthorized {
		t.Errorf("status %d", w.Code)
	}
	if p := w.Header().Get("Content-Security-Policy"); !strings.Contains(p, "; form-action 'self' com.example.app:; ") {
		t.Errorf("policy %s", p)
	}
	w = httptest.NewRecorder()
	_ = Render(w, http.StatusOK, Code{Page: Page{ReturnTo: "javascript:alert(1)"}, Form: testForm})
	if p := w.Header().Get("Content-Security-Policy"); !strings.Contains(p, "; form-action 'self'; ") {
		t.Errorf("policy %s", p)
	}
}

func TestRender_ABrokenViewIs500WithHeaders(t *testing.T) {
	w := httptest.NewRecorder()
	if err := Render(w, http.StatusOK, Page{}); err == nil {
		t.Error("no error")
	}
	if w.Code != http.StatusInternalServerError || w.Header().Get("X-Frame-Options") != "DENY" {
		t.Errorf("status %d, headers %v", w.Code, w.Header())
	}
}
