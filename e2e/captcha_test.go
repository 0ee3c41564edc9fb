package e2e

import (
	"testing"
)

// TestStart_CaptchaIsRefused: Sesame has no bot detection, so it never asks
// for a CAPTCHA; an answer to one is refused rather than dropped.
func TestStart_CaptchaIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := e.postJSON("/passwordless/start", map[string]any{"client_id": nativeClientID, "connection": "email",
		"email": "bot@example.com", "send": "code", "captcha": "03AGdBq24…"})
	wantError(t, r, 400, "bad.request", "captcha is not supported: Sesame has no bot detection (no CAPTCHA provider) and never asks for one; send no captcha")
	// An empty one asks for nothing.
	r = e.postJSON("/passwordless/start", map[string]any{"client_id": nativeClientID, "connection": "email",
		"email": "human@example.com", "send": "code", "captcha": ""})
	if r.Status != 200 {
		t.Fatalf("start with an empty captcha: %d %s", r.Status, r.Body)
	}
}
