package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
	"github.com/sesame-id/sesame/internal/token"
)

// AuthCodeLifetime is how long an authorization code can be redeemed.
const AuthCodeLifetime = 60 * time.Second

// AuthRequest is an authorization request: the parameters /authorize takes
// and a magic link carries.
type AuthRequest struct {
	ClientID            string
	RedirectURI         string
	ResponseType        string
	ResponseMode        string
	Scope               string
	State               string
	Nonce               string
	Audience            string
	CodeChallenge       string
	CodeChallengeMethod string
}

// AuthRequestParams are the names of the parameters of an AuthRequest.
var AuthRequestParams = []string{
	"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state",
	"nonce", "audience", "code_challenge", "code_challenge_method",
}

// AuthRequestFromValues reads an AuthRequest from query or form values.
func AuthRequestFromValues(v url.Values) AuthRequest {
	return AuthRequest{
		ClientID:            v.Get("client_id"),
		RedirectURI:         v.Get("redirect_uri"),
		ResponseType:        v.Get("response_type"),
		ResponseMode:        v.Get("response_mode"),
		Scope:               v.Get("scope"),
		State:               v.Get("state"),
		Nonce:               v.Get("nonce"),
		Audience:            v.Get("audience"),
		CodeChallenge:       v.Get("code_challenge"),
		CodeChallengeMethod: v.Get("code_challenge_method"),
	}
}

// Values writes the non-empty parameters of r.
func (r AuthRequest) Values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{
		"client_id": r.ClientID, "redirect_uri": r.RedirectURI, "response_type": r.ResponseType,
		"response_mode": r.ResponseMode, "scope": r.Scope, "state": r.State, "nonce": r.Nonce,
		"audience": r.Audience, "code_challenge": r.CodeChallenge, "code_challenge_method": r.CodeChallengeMethod,
	} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// ErrRedirectURIMismatch is Auth0's answer to an unregistered redirect_uri.
// It is never sent to the redirect_uri itself.
var ErrRedirectURIMismatch = &Error{Kind: fault.Invalid, Code: "invalid_request",
	Description: "Callback URL mismatch. The provided redirect_uri is not in the list of allowed callback URLs."}

// ResolveRedirectURI fills in the client's first callback when the request
// names none, and checks the redirect_uri against the client's callbacks.
// An error here must be shown to the user, never redirected.
func ResolveRedirectURI(c *tenant.Client, r *AuthRequest) error {
	if r.RedirectURI == "" {
		for _, cb := range c.Callbacks {
			if !strings.Contains(cb, "*") {
				r.RedirectURI = cb
				break
			}
		}
		if r.RedirectURI == "" {
			return &Error{Kind: fault.Invalid, Code: "invalid_request", Description: "Missing required parameter: redirect_uri (the client has no callback URL to fall back to)"}
		}
	}
	if !c.CallbackAllowed(r.RedirectURI) {
		return ErrRedirectURIMismatch
	}
	return nil
}

// responseTypes normalises a response_type: "id_token token" and "token
// id_token" are the same.
func responseTypes(rt string) (string, bool) {
	f := strings.Fields(rt)
	slices.Sort(f)
	switch n := strings.Join(f, " "); n {
	case "code", "token", "id_token", "id_token token", "code id_token", "code token", "code id_token token":
		return n, true
	default:
		return n, false
	}
}

var pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// ValidateAuthRequest checks an authorization request whose redirect_uri
// has been resolved, and fills in defaults. Its errors may be sent to the
// redirect_uri.
func (s *Server) ValidateAuthRequest(t *tenant.Tenant, c *tenant.Client, r *AuthRequest) error {
	if r.ResponseType == "" {
		r.ResponseType = "code"
	}
	rt, ok := responseTypes(r.ResponseType)
	if !ok {
		return &Error{Kind: fault.Invalid, Code: "unsupported_response_type", Description: "Unsupported response type: " + truncate(r.ResponseType, 64)}
	}
	r.ResponseType = rt
	var grants []string
	if strings.Contains(rt, "code") {
		grants = append(grants, tenant.GrantAuthorizationCode)
	}
	if strings.Contains(rt, "token") { // token or id_token
		grants = append(grants, tenant.GrantImplicit)
	}
	for _, grant := range grants {
		if !c.AllowsGrant(grant) {
			return &Error{Kind: fault.Forbidden, Code: "unauthorized_client", Description: "Grant type '" + grant + "' not allowed for the client.", URI: "https://auth0.com/docs/clients/client-grant-types"}
		}
	}
	switch r.ResponseMode {
	case "":
		r.ResponseMode = "fragment"
		if rt == "code" {
			r.ResponseMode = "query"
		}
	case "fragment", "form_post":
	case "query":
		if rt != "code" {
			return &Error{Kind: fault.Invalid, Code: "invalid_request", Description: "response_mode=query is not allowed with response_type=" + rt + ": tokens never travel in a query string"}
		}
	default:
		return &Error{Kind: fault.Invalid, Code: "invalid_request", Description: "Unsupported response_mode: " + truncate(r.ResponseMode, 64)}
	}
	if strings.Contains(rt, "id_token") && r.Nonce == "" {
		return &Error{Kind: fault.Invalid, Code: "invalid_request", Description: "Missing required parameter: nonce (required for response_type=" + rt + ")"}
	}
	if strings.Contains(rt, "id_token") && !token.HasScope(r.Scope, "openid") {
		r.Scope = strings.TrimSpace("openid " + r.Scope)
	}
	switch {
	case r.CodeChallenge == "" && r.CodeChallengeMethod != "":
		return &Error{Kind: fault.Invalid, Code: "invalid_request", Description: "code_challenge_method without code_challenge"}
	case r.CodeChallenge != "":
		if r.CodeChallengeMethod == "" {
			r.CodeChallengeMethod = "plain" // RFC 7636 §4.3
		}
		if !slices.Contains(s.PKCEMethods(), r.CodeChallengeMethod) {
			if r.CodeChallengeMethod == "plain" {
				return &Error{Kind: fault.Invalid, Code: "invalid_request", Description: "code_challenge_method plain is not allowed (a missing method means plain): use S256"}
			}
			return &Error{Kind: fault.Invalid, Code: "invalid_request", Description: "Unsupported code_challenge_method: " + truncate(r.CodeChallengeMethod, 32)}
		}
		if !pkceChallenge.MatchString(r.CodeChallenge) {
			return &Error{Kind: fault.Invalid, Code: "invalid_request", Description: "Invalid code_challenge: 43 to 128 characters of [A-Za-z0-9._~-]"}
		}
	case strings.HasPrefix(rt, "code") && c.IsPublic():
		// Without a secret, only PKCE stops a stolen code from being redeemed.
		return &Error{Kind: fault.Invalid, Code: "invalid_request", Description: "Missing required parameter: code_challenge (public clients must use PKCE)"}
	}
	if _, err := s.audience(t, r.Audience); err != nil {
		return err
	}
	return nil
}

// AuthResult is where the browser goes at the end of an authorization.
type AuthResult struct {
	RedirectURI string
	Mode        string // query, fragment or form_post
	Params      url.Values
}

// URL is the redirect for the query and fragment modes.
func (r AuthResult) URL() string {
	if r.Mode == "fragment" {
		return r.RedirectURI + "#" + r.Params.Encode()
	}
	sep := "?"
	if strings.Contains(r.RedirectURI, "?") {
		sep = "&"
	}
	return r.RedirectURI + sep + r.Params.Encode()
}

// ErrorResult sends an OAuth error back to a validated redirect_uri.
func ErrorResult(r AuthRequest, code, description string) AuthResult {
	mode := r.ResponseMode
	if mode == "" {
		mode = "query"
		if rt, _ := responseTypes(r.ResponseType); rt != "" && rt != "code" {
			mode = "fragment"
		}
	}
	p := url.Values{"error": {code}, "error_description": {description}}
	if r.State != "" {
		p.Set("state", r.State)
	}
	return AuthResult{RedirectURI: r.RedirectURI, Mode: mode, Params: p}
}

// Authorize completes a validated request for an authenticated user: it
// issues an authorization code, or tokens for the implicit response types.
// Without allowOffline (magic links), offline_access is dropped, so no
// refresh token ever comes of it.
func (s *Server) Authorize(ctx context.Context, t *tenant.Tenant, c *tenant.Client, r AuthRequest, user store.User, sess store.Session, allowOffline bool) (AuthResult, error) {
	now := s.Now()
	rs, err := s.audience(t, r.Audience)
	if err != nil {
		return AuthResult{}, err
	}
	scope := grantedScope(r.Scope, rs)
	if !allowOffline {
		scope = strings.Join(slices.DeleteFunc(strings.Fields(scope), func(s string) bool { return s == "offline_access" }), " ")
	}
	p := url.Values{}
	if r.State != "" {
		p.Set("state", r.State)
	}
	res := AuthResult{RedirectURI: r.RedirectURI, Mode: r.ResponseMode, Params: p}

	types := strings.Fields(r.ResponseType)
	var code string
	if slices.Contains(types, "code") {
		value, err := randomString(32)
		if err != nil {
			return AuthResult{}, err
		}
		id, err := randomString(12)
		if err != nil {
			return AuthResult{}, err
		}
		err = s.Store.CreateAuthCode(ctx, store.AuthCode{
			ID: id, Hash: HashToken(value), ClientID: c.ClientID, UserID: user.UserID,
			RedirectURI: r.RedirectURI, Scope: scope, Audience: r.Audience, Nonce: r.Nonce,
			CodeChallenge: r.CodeChallenge, CodeChallengeMethod: r.CodeChallengeMethod,
			SessionID: sess.ID, AuthTime: sess.AuthTime, CreatedAt: now, ExpiresAt: now.Add(AuthCodeLifetime),
		})
		if err != nil {
			return AuthResult{}, fmt.Errorf("store authorization code: %w", err)
		}
		p.Set("code", value)
		if len(types) == 1 {
			return res, nil
		}
		code = value
	}

	// The implicit types, and the tokens of a hybrid response beside its
	// code (whose c_hash the ID token carries).
	resp, err := s.issue(ctx, issueRequest{
		Client: c, User: user, Resource: rs, Audience: r.Audience, Scope: scope, Nonce: r.Nonce,
		AuthTime: sess.AuthTime, SessionID: sess.ID,
		AccessToken: slices.Contains(types, "token"),
		IDToken:     slices.Contains(types, "id_token"),
		Code:        code,
	})
	if err != nil {
		return AuthResult{}, err
	}
	if resp.AccessToken != "" {
		p.Set("access_token", resp.AccessToken)
		p.Set("token_type", resp.TokenType)
		p.Set("expires_in", strconv.Itoa(resp.ExpiresIn))
		if resp.Scope != "" {
			p.Set("scope", resp.Scope)
		}
	}
	if resp.IDToken != "" {
		p.Set("id_token", resp.IDToken)
	}
	return res, nil
}

var errBadCode = &Error{Kind: fault.Denied, Code: "invalid_grant", Description: "Invalid authorization code"}

// CodeRequest is a validated authorization_code grant.
type CodeRequest struct {
	Tenant       *tenant.Tenant
	Client       *tenant.Client
	Code         string
	RedirectURI  string
	CodeVerifier string
}

// ExchangeCode redeems an authorization code for tokens. A code presented a
// second time revokes the refresh tokens its first use issued (RFC 6749
// §4.1.2).
func (s *Server) ExchangeCode(ctx context.Context, req CodeRequest) (*TokenResponse, error) {
	now := s.Now()
	if req.Code == "" || len(req.Code) > 512 {
		return nil, errBadCode
	}
	code, err := s.Store.RedeemAuthCode(ctx, HashToken(req.Code), now)
	switch {
	case errors.Is(err, store.ErrCodeStale):
		if err := s.Store.RevokeRefreshFamily(ctx, code.ID, now); err != nil {
			return nil, fmt.Errorf("revoke tokens of a reused code: %w", err)
		}
		return nil, errBadCode
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrCodeExpired):
		return nil, errBadCode
	case err != nil:
		return nil, fmt.Errorf("redeem authorization code: %w", err)
	}
	if code.ClientID != req.Client.ClientID {
		return nil, errBadCode
	}
	if req.RedirectURI != code.RedirectURI {
		return nil, &Error{Kind: fault.Denied, Code: "invalid_grant", Description: "The redirect_uri does not match the one the authorization code was issued for"}
	}
	if !verifyPKCE(code.CodeChallenge, code.CodeChallengeMethod, req.CodeVerifier) {
		return nil, &Error{Kind: fault.Denied, Code: "invalid_grant", Description: "Failed to verify code verifier"}
	}
	user, err := s.Store.User(ctx, code.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errBadCode
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	rs, err := s.audience(req.Tenant, code.Audience)
	if err != nil {
		return nil, err
	}
	return s.issue(ctx, issueRequest{
		Client: req.Client, User: user, Resource: rs, Audience: code.Audience, Scope: code.Scope,
		Nonce: code.Nonce, AuthTime: code.AuthTime, SessionID: code.SessionID,
		AllowRefresh: true, FamilyID: code.ID, AccessToken: true, IDToken: true,
	})
}

// verifyPKCE checks a code_verifier against the challenge the code was
// issued with (RFC 7636 §4.6). Without a challenge no verifier may be sent.
func verifyPKCE(challenge, method, verifier string) bool {
	if challenge == "" {
		return verifier == ""
	}
	if !pkceChallenge.MatchString(verifier) {
		return false
	}
	computed := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		computed = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(computed), []byte(challenge)) == 1
}

// atHash is the at_hash claim of an ID token issued with an access token
// (OIDC Core §3.2.2.9): the left half of the SHA-256 of the token.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
