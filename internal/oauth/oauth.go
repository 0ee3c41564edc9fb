// Package oauth implements the token endpoint's grants (passwordless OTP,
// refresh token, authorization code), revocation, the claims Sesame puts in
// its tokens, authorization requests and the browsers' login sessions.
package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sesame-id/sesame/internal/eventlog"
	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
	"github.com/sesame-id/sesame/internal/token"
)

// Error is an OAuth error: its kind, Auth0's code and description, and the
// error_uri Auth0 adds to some. The server package answers it in the shape
// of the endpoint that met it.
type Error struct {
	Kind        fault.Kind
	Code        string
	Description string
	URI         string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// Default lifetimes (spec §5.1).
const (
	DefaultAccessTokenLifetime = 86400
	DefaultIDTokenLifetime     = 36000
)

// OIDCScopes are the scopes that ask for ID token claims rather than API
// permissions.
var OIDCScopes = []string{"openid", "profile", "email", "phone", "address", "offline_access"}

// Store is the part of the store the grants and authorization requests use.
type Store interface {
	CreateAuthCode(ctx context.Context, c store.AuthCode) error
	RedeemAuthCode(ctx context.Context, hash []byte, now time.Time) (store.AuthCode, error)
	CreateLoginTicket(ctx context.Context, t store.LoginTicket) error
	RedeemLoginTicket(ctx context.Context, hash []byte, now time.Time) (store.LoginTicket, error)
	CreateRefreshToken(ctx context.Context, t store.RefreshToken) error
	UseRefreshToken(ctx context.Context, hash []byte, now time.Time, rotate bool, leeway time.Duration, next *store.RefreshToken) (store.RefreshToken, error)
	RefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error)
	RevokeRefreshToken(ctx context.Context, hash []byte, clientID string, now time.Time) error
	RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error
	User(ctx context.Context, userID string) (store.User, error)
}

// Server issues tokens.
type Server struct {
	Issuer       string // public URL with a trailing slash
	Store        Store
	Keys         *token.Keys
	Passwordless *passwordless.Service
	Now          func() time.Time
	// AllowPlainPKCE accepts code_challenge_method=plain (and a challenge
	// without a method, which RFC 7636 reads as plain). Off by default:
	// with plain, whoever sees the authorization request can redeem its
	// code, and auth0-js and auth0-spa-js always use S256.
	AllowPlainPKCE bool
}

// PKCEMethods are the code_challenge_method values s accepts.
func (s *Server) PKCEMethods() []string {
	if s.AllowPlainPKCE {
		return []string{"S256", "plain"}
	}
	return []string{"S256"}
}

// User returns the user with userID; store.ErrNotFound when there is none.
func (s *Server) User(ctx context.Context, userID string) (store.User, error) {
	return s.Store.User(ctx, userID)
}

// UserInfoAudience is the audience of access tokens good for /userinfo.
func (s *Server) UserInfoAudience() string { return s.Issuer + "userinfo" }

// TokenResponse is the body of a successful token response.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	TokenType    string `json:"token_type"`
	// UserID is whom the tokens are for: for the tenant log, never sent.
	UserID string `json:"-"`
}

// OTPRequest is a validated passwordless OTP grant.
type OTPRequest struct {
	Tenant   *tenant.Tenant
	Client   *tenant.Client
	Realm    string
	Username string
	OTP      string
	Audience string
	Scope    string
	IP       string
	// UserAgent is the caller's, for the tenant log.
	UserAgent string
	// Takes and Taken are passed to the code check (passwordless.VerifyRequest).
	Takes []store.Take
	Taken func([]store.Bucket)
}

// PasswordlessOTP exchanges a one-time code for tokens.
func (s *Server) PasswordlessOTP(ctx context.Context, req OTPRequest) (*TokenResponse, error) {
	conn := req.Tenant.Connection(req.Realm)
	if conn == nil {
		return nil, &Error{Kind: fault.Invalid, Code: "invalid_request", Description: "The connection " + quote(req.Realm) + " does not exist"}
	}
	if conn.Strategy != "email" && conn.Strategy != "sms" {
		return nil, &Error{Kind: fault.Invalid, Code: "invalid_request", Description: "The connection " + quote(req.Realm) + " is not a passwordless connection"}
	}
	if !conn.EnabledFor(req.Client.ClientID) {
		return nil, &Error{Kind: fault.Forbidden, Code: "unauthorized_client", Description: "The connection " + quote(req.Realm) + " is not enabled for this client"}
	}
	rs, err := s.audience(req.Tenant, req.Audience)
	if err != nil {
		return nil, err
	}
	// The check logs s (and ss) or fepotpft in its own transaction.
	user, err := s.Passwordless.Verify(ctx, passwordless.VerifyRequest{
		Client: req.Client, Connection: conn, Username: req.Username, OTP: req.OTP, IP: req.IP,
		Takes: req.Takes, Taken: req.Taken, UserAgent: req.UserAgent,
		Log: passwordless.LogAs{Success: eventlog.TypeSuccessLogin, Failure: eventlog.TypeFailedOTPExchange,
			Details: map[string]any{"grant_type": tenant.GrantPasswordlessOTP}},
	})
	if err != nil {
		return nil, err // a passwordless.Error is answered as it is
	}
	return s.issue(ctx, issueRequest{
		Client: req.Client, User: user, Resource: rs, Audience: req.Audience,
		Scope: grantedScope(req.Scope, rs), AllowRefresh: true, AccessToken: true, IDToken: true,
	})
}

// audience resolves a requested audience: empty means tokens for /userinfo.
func (s *Server) audience(t *tenant.Tenant, aud string) (*tenant.ResourceServer, error) {
	if aud == "" {
		return nil, nil
	}
	rs := t.ResourceServer(aud)
	// The Management API takes only tokens a client got for itself
	// (client_credentials), never a user's, even if the tenant has a
	// resource server of that identifier.
	if rs == nil || aud == s.ManagementAudience() {
		return nil, &Error{Kind: fault.Forbidden, Code: "access_denied", Description: "Service not found: " + aud}
	}
	return rs, nil
}

// grantedScope keeps the OIDC scopes and, for an API, the scopes it defines.
func grantedScope(requested string, rs *tenant.ResourceServer) string {
	var out []string
	for _, sc := range strings.Fields(requested) {
		if slices.Contains(out, sc) {
			continue
		}
		if slices.Contains(OIDCScopes, sc) {
			out = append(out, sc)
			continue
		}
		if rs != nil && slices.ContainsFunc(rs.Scopes, func(x tenant.Scope) bool { return x.Value == sc }) {
			out = append(out, sc)
		}
	}
	return strings.Join(out, " ")
}

type issueRequest struct {
	Client       *tenant.Client
	User         store.User
	Resource     *tenant.ResourceServer
	Audience     string
	Scope        string
	Nonce        string
	AllowRefresh bool
	AuthTime     time.Time
	SessionID    string // the sid claim, for logins with a browser session
	FamilyID     string // refresh token family; empty for a new one
	AccessToken  bool   // issue an access token
	IDToken      bool   // issue an ID token when the scope has openid
	// Code is the authorization code issued beside the tokens (hybrid
	// flows): the ID token carries its c_hash.
	Code string
}

// issue makes the token response for an authenticated user.
func (s *Server) issue(ctx context.Context, r issueRequest) (*TokenResponse, error) {
	now := s.Now()
	resp := &TokenResponse{TokenType: "Bearer", Scope: r.Scope, UserID: r.User.UserID}
	if r.AccessToken {
		lifetime := DefaultAccessTokenLifetime
		aud := token.Audience{s.UserInfoAudience()}
		alg := token.RS256
		if r.Resource != nil {
			if r.Resource.TokenLifetime > 0 {
				lifetime = r.Resource.TokenLifetime
			}
			alg = token.Algorithm(r.Resource.SigningAlg)
			aud = token.Audience{r.Resource.Identifier}
			if token.HasScope(r.Scope, "openid") {
				aud = append(aud, s.UserInfoAudience())
			}
		}
		jti, err := randomString(16)
		if err != nil {
			return nil, err
		}
		resp.AccessToken, err = s.Keys.Sign(ctx, alg, token.AccessClaims{
			Issuer: s.Issuer, Subject: r.User.UserID, Audience: aud,
			IssuedAt: now.Unix(), Expiry: now.Unix() + int64(lifetime),
			Scope: r.Scope, AZP: r.Client.ClientID, JTI: jti,
		})
		if err != nil {
			return nil, err
		}
		resp.ExpiresIn = lifetime
	}

	if r.IDToken && token.HasScope(r.Scope, "openid") {
		authTime := r.AuthTime
		if authTime.IsZero() {
			authTime = now
		}
		var err error
		resp.IDToken, err = s.idToken(ctx, r, authTime, now, resp.AccessToken)
		if err != nil {
			return nil, err
		}
	}

	if r.AccessToken && r.AllowRefresh && token.HasScope(r.Scope, "offline_access") && r.Client.AllowsGrant(tenant.GrantRefreshToken) &&
		(r.Resource == nil || r.Resource.AllowOfflineAccess) {
		value, rec, err := s.newRefreshToken(r.Client, r.User.UserID, r.Scope, r.Audience, r.FamilyID, now)
		if err != nil {
			return nil, err
		}
		if err := s.Store.CreateRefreshToken(ctx, rec); err != nil {
			return nil, fmt.Errorf("store refresh token: %w", err)
		}
		resp.RefreshToken = value
	}
	return resp, nil
}

// idToken signs an OIDC ID token with the claims the scopes ask for, with
// the client's jwt_configuration.alg.
func (s *Server) idToken(ctx context.Context, r issueRequest, authTime, now time.Time, accessToken string) (string, error) {
	c, u := r.Client, r.User
	lifetime := DefaultIDTokenLifetime
	alg := token.RS256
	if c.JWTConfiguration != nil {
		if c.JWTConfiguration.LifetimeInSeconds > 0 {
			lifetime = c.JWTConfiguration.LifetimeInSeconds
		}
		alg = token.Algorithm(c.JWTConfiguration.Alg)
	}
	claims := map[string]any{
		"iss":       s.Issuer,
		"sub":       u.UserID,
		"aud":       c.ClientID,
		"iat":       now.Unix(),
		"exp":       now.Unix() + int64(lifetime),
		"auth_time": authTime.Unix(),
	}
	if r.Nonce != "" {
		claims["nonce"] = r.Nonce
	}
	if r.SessionID != "" {
		claims["sid"] = r.SessionID
	}
	if accessToken != "" {
		claims["at_hash"] = atHash(accessToken)
	}
	if r.Code != "" {
		claims["c_hash"] = atHash(r.Code) // OIDC Core §3.3.2.11: the same left half of SHA-256
	}
	for k, v := range UserClaims(u, r.Scope) {
		claims[k] = v
	}
	return s.Keys.Sign(ctx, alg, claims)
}

// LongestTokenLifetime is the longest any token t lets Sesame issue lives:
// an ID token (a client's jwt_configuration.lifetime_in_seconds), an access
// token for an API (its token_lifetime, or token_lifetime_for_web) or for
// /userinfo alone. A key that stops signing must stay published this long.
func LongestTokenLifetime(t *tenant.Tenant) time.Duration {
	longest := max(DefaultAccessTokenLifetime, DefaultIDTokenLifetime)
	for _, c := range t.Clients {
		if c.JWTConfiguration != nil {
			longest = max(longest, c.JWTConfiguration.LifetimeInSeconds)
		}
	}
	for _, rs := range t.ResourceServers {
		longest = max(longest, rs.TokenLifetime, rs.TokenLifetimeForWeb)
	}
	return time.Duration(longest) * time.Second
}

// UserClaims returns the profile claims of u that scope asks for, the same
// for the ID token and /userinfo.
func UserClaims(u store.User, scope string) map[string]any {
	claims := map[string]any{}
	if token.HasScope(scope, "profile") {
		claims["name"] = u.Name
		claims["nickname"] = u.Nickname
		if u.Picture != "" {
			claims["picture"] = u.Picture
		}
		claims["updated_at"] = u.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if token.HasScope(scope, "email") && u.Email != "" {
		claims["email"] = u.Email
		claims["email_verified"] = u.EmailVerified
	}
	if token.HasScope(scope, "phone") && u.PhoneNumber != "" {
		claims["phone_number"] = u.PhoneNumber
		claims["phone_number_verified"] = u.PhoneVerified
	}
	return claims
}

func quote(s string) string { return "'" + s + "'" }

// randomString returns n random bytes, base64url without padding.
func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken is how refresh tokens are stored: they are 256-bit random
// values, so a fast hash is the right tool.
func HashToken(v string) []byte {
	sum := sha256.Sum256([]byte(v))
	return sum[:]
}
