package e2e

import (
	"net/url"
	"testing"

	"github.com/sesame-id/sesame/internal/store"
)

// TestBlockedUser_CannotLogInOrRefresh: a user an operator blocked (the
// Management API's `blocked: true`) gets Auth0's 401 "user is blocked" for
// a right code and for a refresh token, and the refresh token works again
// once the user is unblocked.
func TestBlockedUser_CannotLogInOrRefresh(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.otp(webClientID, "carol@example.com", e.startCode(webClientID, "carol@example.com"), "openid offline_access")
	if tok.Status != 200 || tok.str("refresh_token") == "" {
		t.Fatalf("first login: %d %s", tok.Status, tok.Body)
	}
	u, err := e.App.Store.UserByIdentifier(t.Context(), "email", "carol@example.com")
	if err != nil {
		t.Fatal(err)
	}
	setBlocked := func(blocked bool) {
		t.Helper()
		if _, err := e.App.Store.UpdateUser(t.Context(), u.UserID, func(v *store.User) error { v.Blocked = blocked; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	refresh := func() response {
		return e.postForm("/oauth/token", url.Values{
			"grant_type": {"refresh_token"}, "client_id": {webClientID}, "client_secret": {webSecret},
			"refresh_token": {tok.str("refresh_token")},
		})
	}

	setBlocked(true)
	code := e.startCode(webClientID, "carol@example.com")
	wantError(t, e.otp(webClientID, "carol@example.com", code, "openid"), 401, "unauthorized", "user is blocked")
	wantError(t, refresh(), 401, "unauthorized", "user is blocked")
	if stored, err := e.App.Store.User(t.Context(), u.UserID); err != nil || stored.LoginsCount != 1 {
		t.Errorf("the refused login was counted: %+v, %v", stored, err)
	}
	// The refused code is used up.
	wantError(t, e.otp(webClientID, "carol@example.com", code, "openid"), 403, "invalid_grant", "")

	setBlocked(false)
	if r := refresh(); r.Status != 200 || r.str("access_token") == "" {
		t.Errorf("refresh after the unblock: %d %s", r.Status, r.Body)
	}
	if r := e.otp(webClientID, "carol@example.com", e.startCode(webClientID, "carol@example.com"), "openid"); r.Status != 200 {
		t.Errorf("login after the unblock: %d %s", r.Status, r.Body)
	}
}
