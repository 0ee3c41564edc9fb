package e2e

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/store"
)

// Magic-link codes never carry offline_access, so this test stores a code
// the way /authorize will (with offline_access) and redeems it over HTTP:
// the second use must revoke the refresh token the first use issued
// (RFC 6749 §4.1.2).
func TestAuthCode_SecondUseRevokesWhatTheFirstIssued(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	code := e.startCode(webClientID, "reuse@example.com")
	login := e.otp(webClientID, "reuse@example.com", code, "openid")
	if login.Status != 200 {
		t.Fatalf("login: %d %s", login.Status, login.Body)
	}
	sub, _ := jwtClaims(t, login.str("id_token"))["sub"].(string)

	const value = "an-authorization-code-value-for-this-test-0123456789"
	now := time.Now()
	if err := e.App.Store.CreateAuthCode(ctx, store.AuthCode{
		ID: "reusefamily01", Hash: oauth.HashToken(value), ClientID: webClientID, UserID: sub,
		RedirectURI: "https://app.example.com/callback", Scope: "openid offline_access",
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Minute),
	}); err != nil {
		t.Fatal(err)
	}
	exchange := func() response {
		return e.postForm("/oauth/token", url.Values{
			"grant_type": {"authorization_code"}, "client_id": {webClientID}, "client_secret": {webSecret},
			"code": {value}, "redirect_uri": {"https://app.example.com/callback"},
		})
	}
	first := exchange()
	if first.Status != 200 || first.str("refresh_token") == "" {
		t.Fatalf("first exchange: %d %s", first.Status, first.Body)
	}
	wantError(t, exchange(), 403, "invalid_grant", "Invalid authorization code")
	refresh := e.postForm("/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {webClientID}, "client_secret": {webSecret},
		"refresh_token": {first.str("refresh_token")},
	})
	wantError(t, refresh, 403, "invalid_grant", "Unknown or invalid refresh token.")
}
