package login

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// NewNonce returns a fresh CSP nonce: 128 bits from crypto/rand, base64url.
// Each response gets its own.
func NewNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand.Read panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// SecurityHeaders sets the headers every HTML response of the login pages
// carries. The Content-Security-Policy allows only the page's own <style>
// and <script> elements that carry nonce (no inline attributes, no other
// origin), images over https, and forms that post to this origin or to
// formAction, which are CSP source expressions such as FormActionSource
// returns; an entry that is not one is left out.
//
// The redirect that answers a POST is checked against form-action too
// (Chrome), so a page whose form ends in a redirect to the application must
// list the application's origin even though the form itself posts here.
func SecurityHeaders(w http.ResponseWriter, nonce string, formAction ...string) {
	securityHeaders(w, nonce, formAction, nil)
}

// securityHeaders is SecurityHeaders with the origins a page may frame
// (frame-src; none unless given), each a source as FormActionSource returns
// it for an http(s) URL.
func securityHeaders(w http.ResponseWriter, nonce string, formAction, frameSrc []string) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp(nonce, formAction, frameSrc))
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

func csp(nonce string, formAction, frameSrc []string) string {
	src := "'none'"
	if validNonce(nonce) {
		src = "'nonce-" + nonce + "'"
	}
	actions := "'self'"
	for _, a := range formAction {
		if validSource(a) && !strings.Contains(actions, " "+a) {
			actions += " " + a
		}
	}
	frames := ""
	for _, f := range frameSrc {
		if validSource(f) && strings.Contains(f, "//") {
			frames += " " + f
		}
	}
	if frames != "" {
		frames = "; frame-src" + frames
	}
	return "default-src 'none'; style-src " + src + "; script-src " + src +
		"; img-src https:; form-action " + actions + frames +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// validNonce reports whether s is a base64 or base64url value, the only
// thing CSP allows in a nonce-source.
func validNonce(s string) bool {
	if len(s) < 16 {
		return false
	}
	s = strings.TrimRight(s, "=")
	for _, r := range s {
		if !(isAlnum(r) || r == '+' || r == '/' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// validSource reports whether s is a scheme-source ("com.example.app:") or
// a host-source with a scheme and no path ("https://app.example.com:8443"),
// as FormActionSource makes them: nothing that could end the directive or
// add a keyword.
func validSource(s string) bool {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !validScheme(scheme) {
		return false
	}
	if rest == "" {
		return true
	}
	host, ok := strings.CutPrefix(rest, "//")
	if !ok || host == "" {
		return false
	}
	for _, r := range host {
		if !(isAlnum(r) || r == '.' || r == '-' || r == ':' || r == '[' || r == ']') {
			return false
		}
	}
	return true
}

func validScheme(s string) bool {
	if s == "" || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for _, r := range s {
		if !(isAlnum(r) || r == '+' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

func isAlnum(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
}

// FormActionSource returns the CSP source that lets a form, or the redirect
// that answers it, go to redirectURI: its origin for http and https
// ("https://app.example.com"), its scheme for a native app's custom scheme
// ("com.example.app:"). ok is false for anything else (no host, a wildcard,
// javascript:, data:…).
func FormActionSource(redirectURI string) (source string, ok bool) {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "http", "https":
		if u.Host == "" || u.User != nil {
			return "", false
		}
		s := scheme + "://" + strings.ToLower(u.Host)
		return s, validSource(s)
	case "javascript", "data", "blob", "filesystem", "about", "file", "vbscript":
		return "", false
	}
	s := scheme + ":"
	return s, validSource(s)
}
