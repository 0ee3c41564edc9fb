package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

func TestLogin_EmailCodeEndToEnd(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()

	res := e.postJSON("/passwordless/start", map[string]any{
		"client_id": webClientID, "client_secret": webSecret,
		"connection": "email", "email": "  Alice@Example.COM ", "send": "code",
	})
	if res.Status != 200 {
		t.Fatalf("start: %d %s", res.Status, res.Body)
	}
	if id := res.str("_id"); len(id) != 24 {
		t.Errorf("_id = %q, want 24 hex characters", id)
	}
	if res.str("email") != "alice@example.com" || res.JSON["email_verified"] != false {
		t.Errorf("start body = %s", res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}

	msgs := e.SMTP.Wait(t, 1, 10*time.Second)
	m := msgs[0]
	// The mail goes to the identifier the start answered, not to the
	// input as typed.
	if len(m.To) != 1 || m.To[0] != "alice@example.com" {
		t.Errorf("mail to %v, want exactly [alice@example.com]", m.To)
	}
	if m.Subject != "Your code for Web App" {
		t.Errorf("subject = %q", m.Subject)
	}
	if !strings.Contains(m.Header.Get("From"), "login@example.com") || !strings.Contains(m.Header.Get("From"), "Web App") {
		t.Errorf("from = %q", m.Header.Get("From"))
	}
	code := codeFrom(t, m)
	if !strings.Contains(m.HTML, code) {
		t.Errorf("the HTML part does not show the code")
	}
	if strings.Contains(e.logs.String(), code) {
		t.Errorf("the code appears in the server log")
	}

	// The address is matched case-insensitively.
	tok := e.otp(webClientID, "ALICE@example.com", code, "openid profile email offline_access")
	if tok.Status != 200 {
		t.Fatalf("token: %d %s", tok.Status, tok.Body)
	}
	if tok.str("token_type") != "Bearer" || tok.JSON["expires_in"] != float64(86400) || tok.str("scope") != "openid profile email offline_access" {
		t.Errorf("token body = %s", tok.Body)
	}
	if tok.str("refresh_token") == "" || tok.str("id_token") == "" || tok.str("access_token") == "" {
		t.Fatalf("token body lacks a token: %s", tok.Body)
	}
	if cc := tok.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}

	// The ID token verifies through discovery with go-oidc.
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, e.HTTP), e.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: webClientID}).Verify(oidc.ClientContext(ctx, e.HTTP), tok.str("id_token"))
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		Name          string `json:"name"`
		Nickname      string `json:"nickname"`
		Picture       string `json:"picture"`
		UpdatedAt     string `json:"updated_at"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(idt.Subject, "email|") || len(idt.Subject) != len("email|")+24 {
		t.Errorf("sub = %q", idt.Subject)
	}
	if claims.Email != "alice@example.com" || !claims.EmailVerified || claims.Name != "alice@example.com" ||
		claims.Nickname != "alice" || !strings.HasPrefix(claims.Picture, "https://s.gravatar.com/avatar/") || claims.UpdatedAt == "" {
		t.Errorf("ID token claims = %+v", claims)
	}

	// /userinfo with the access token.
	ui := e.get("/userinfo", bearer(tok.str("access_token")))
	if ui.Status != 200 || ui.str("sub") != idt.Subject || ui.str("email") != "alice@example.com" || ui.JSON["email_verified"] != true {
		t.Fatalf("userinfo: %d %s", ui.Status, ui.Body)
	}
	if bad := e.get("/userinfo", bearer(tok.str("access_token")+"x")); bad.Status != 401 {
		t.Errorf("userinfo with a broken token: %d", bad.Status)
	}
	if bad := e.get("/userinfo"); bad.Status != 401 || bad.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("userinfo without a token: %d", bad.Status)
	}

	// The refresh token (non-rotating, Auth0's default) works again and again.
	for i := 0; i < 2; i++ {
		rt := e.postForm("/oauth/token", url.Values{
			"grant_type": {"refresh_token"}, "client_id": {webClientID}, "client_secret": {webSecret},
			"refresh_token": {tok.str("refresh_token")},
		})
		if rt.Status != 200 || rt.str("access_token") == "" || rt.str("id_token") == "" {
			t.Fatalf("refresh %d: %d %s", i, rt.Status, rt.Body)
		}
		if rt.str("refresh_token") != "" {
			t.Errorf("a non-rotating refresh returned a new refresh token")
		}
	}
	// Narrowing the scope works; widening it does not.
	narrow := e.postForm("/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {webClientID}, "client_secret": {webSecret},
		"refresh_token": {tok.str("refresh_token")}, "scope": {"openid"},
	})
	if narrow.Status != 200 || narrow.str("scope") != "openid" {
		t.Errorf("narrowed refresh: %d %s", narrow.Status, narrow.Body)
	}
	wide := e.postForm("/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {webClientID}, "client_secret": {webSecret},
		"refresh_token": {tok.str("refresh_token")}, "scope": {"openid read:things"},
	})
	if wide.Status != 403 {
		t.Errorf("widened refresh: %d %s", wide.Status, wide.Body)
	}

	// Revocation ends the refresh token.
	rv := e.postForm("/oauth/revoke", url.Values{"client_id": {webClientID}, "client_secret": {webSecret}, "token": {tok.str("refresh_token")}})
	if rv.Status != 200 {
		t.Fatalf("revoke: %d %s", rv.Status, rv.Body)
	}
	after := e.postForm("/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {webClientID}, "client_secret": {webSecret},
		"refresh_token": {tok.str("refresh_token")},
	})
	wantError(t, after, 403, "invalid_grant", "Unknown or invalid refresh token.")

	// A second login finds the same user.
	code = e.startCode(webClientID, "alice@example.com")
	again := e.otp(webClientID, "alice@example.com", code, "openid")
	if again.Status != 200 {
		t.Fatalf("second login: %d %s", again.Status, again.Body)
	}
	idt2, err := provider.Verifier(&oidc.Config{ClientID: webClientID}).Verify(oidc.ClientContext(ctx, e.HTTP), again.str("id_token"))
	if err != nil || idt2.Subject != idt.Subject {
		t.Fatalf("second login subject %v (%v), want %s", idt2, err, idt.Subject)
	}
	u, err := e.App.Store.User(ctx, idt.Subject)
	if err != nil || u.LoginsCount != 2 {
		t.Errorf("user after two logins: %+v, %v", u, err)
	}
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func TestLogin_AudienceGetsAPIAccessToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.startCode(nativeClientID, "bob@example.com")
	tok := e.otp(nativeClientID, "bob@example.com", code, "openid read:things offline_access unknown:scope", "audience", apiAudience)
	if tok.Status != 200 {
		t.Fatalf("token: %d %s", tok.Status, tok.Body)
	}
	if tok.JSON["expires_in"] != float64(3600) || tok.str("scope") != "openid read:things offline_access" {
		t.Errorf("token body = %s", tok.Body)
	}
	claims := jwtClaims(t, tok.str("access_token"))
	aud, _ := claims["aud"].([]any)
	if len(aud) != 2 || aud[0] != apiAudience || aud[1] != e.URL+"userinfo" {
		t.Errorf("aud = %v", claims["aud"])
	}
	if claims["iss"] != e.URL || claims["azp"] != nativeClientID || claims["scope"] != "openid read:things offline_access" {
		t.Errorf("access token claims = %v", claims)
	}

	// The native client rotates: each refresh returns a new token, and reuse
	// of a rotated one revokes the family.
	first := tok.str("refresh_token")
	r1 := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {nativeClientID}, "refresh_token": {first}})
	if r1.Status != 200 || r1.str("refresh_token") == "" || r1.str("refresh_token") == first {
		t.Fatalf("rotating refresh: %d %s", r1.Status, r1.Body)
	}
	if c := jwtClaims(t, r1.str("access_token")); c["aud"] == nil {
		t.Errorf("refreshed access token lacks aud")
	}
	reuse := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {nativeClientID}, "refresh_token": {first}})
	wantError(t, reuse, 403, "invalid_grant", "Unknown or invalid refresh token.")
	second := e.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {nativeClientID}, "refresh_token": {r1.str("refresh_token")}})
	wantError(t, second, 403, "invalid_grant", "Unknown or invalid refresh token.")
}

func TestLogin_UnknownAudienceIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.startCode(nativeClientID, "carol@example.com")
	tok := e.otp(nativeClientID, "carol@example.com", code, "openid", "audience", "https://nope.example.com/")
	wantError(t, tok, 403, "access_denied", "Service not found: https://nope.example.com/")
}
