package oauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
	"github.com/sesame-id/sesame/internal/token"
)

// Refresh token policy defaults (Auth0's).
const (
	DefaultRefreshTokenLifetime = 2592000 // 30 days, used when expiring
)

var errBadRefresh = &Error{Kind: fault.Denied, Code: "invalid_grant", Description: "Unknown or invalid refresh token."}

// ErrRefreshReused answers a rotated refresh token presented again after
// its leeway (the whole family was revoked): on the wire it is
// errBadRefresh; the tenant log tells it apart (ferrt).
var ErrRefreshReused = &Error{Kind: fault.Denied, Code: "invalid_grant", Description: "Unknown or invalid refresh token."}

// newRefreshToken makes a refresh token value and its record. familyID is
// empty for a new family.
func (s *Server) newRefreshToken(c *tenant.Client, userID, scope, audience, familyID string, now time.Time) (string, store.RefreshToken, error) {
	value, err := randomString(32)
	if err != nil {
		return "", store.RefreshToken{}, err
	}
	id, err := randomString(12)
	if err != nil {
		return "", store.RefreshToken{}, err
	}
	if familyID == "" {
		familyID = id
	}
	rec := store.RefreshToken{
		ID: id, Hash: HashToken(value), FamilyID: familyID,
		ClientID: c.ClientID, UserID: userID, Scope: scope, Audience: audience,
		CreatedAt: now,
	}
	if rt := c.RefreshToken; rt != nil && rt.ExpirationType == "expiring" {
		lifetime := rt.TokenLifetime
		if lifetime <= 0 {
			lifetime = DefaultRefreshTokenLifetime
		}
		rec.ExpiresAt = now.Add(time.Duration(lifetime) * time.Second)
	}
	return value, rec, nil
}

// RefreshRequest is a validated refresh_token grant.
type RefreshRequest struct {
	Tenant       *tenant.Tenant
	Client       *tenant.Client
	RefreshToken string
	Scope        string // may only narrow the original scope
}

// Refresh exchanges a refresh token for new tokens, rotating it when the
// client's policy says so.
func (s *Server) Refresh(ctx context.Context, req RefreshRequest) (*TokenResponse, error) {
	now := s.Now()
	c := req.Client
	if req.RefreshToken == "" || len(req.RefreshToken) > 512 {
		return nil, errBadRefresh
	}
	rotate := c.RefreshToken != nil && c.RefreshToken.RotationType == "rotating"
	var leeway time.Duration
	if rotate {
		leeway = time.Duration(c.RefreshToken.Leeway) * time.Second
	}

	// The next token of the family is prepared before the atomic use, so
	// the store can swap them in one transaction.
	hash := HashToken(req.RefreshToken)
	var nextValue string
	var next *store.RefreshToken
	if rotate {
		v, rec, err := s.newRefreshToken(c, "", "", "", "", now)
		if err != nil {
			return nil, err
		}
		nextValue, next = v, &rec
	}
	// Look before use, so a token of another client is refused without
	// touching it.
	old, err := s.Store.RefreshToken(ctx, hash)
	if err != nil {
		return nil, s.refreshError(err)
	}
	if old.ClientID != c.ClientID || !old.RevokedAt.IsZero() || (!old.ExpiresAt.IsZero() && !now.Before(old.ExpiresAt)) {
		return nil, errBadRefresh
	}
	// A token rotated while the client rotated stays dead if the client is
	// switched to non-rotating.
	if !rotate && !old.RotatedAt.IsZero() {
		return nil, errBadRefresh
	}
	scope := old.Scope
	if req.Scope != "" {
		for _, sc := range strings.Fields(req.Scope) {
			if !token.HasScope(old.Scope, sc) {
				return nil, &Error{Kind: fault.Forbidden, Code: "access_denied", Description: "Scope " + quote(sc) + " was not granted to this refresh token"}
			}
		}
		scope = strings.Join(strings.Fields(req.Scope), " ")
	}
	// The user is looked at before the token is used, so that a refusal
	// leaves it as it was: an unblocked user's client can go on with it.
	user, err := s.Store.User(ctx, old.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Kind: fault.Denied, Code: "invalid_grant", Description: "The refresh_token was generated for a user who doesn't exist anymore."}
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	if err := store.AllowLogin(user); err != nil {
		return nil, errUserBlocked
	}
	if rotate {
		next.UserID, next.Scope, next.Audience, next.FamilyID = old.UserID, old.Scope, old.Audience, old.FamilyID
		// token_lifetime is absolute: rotation does not extend the family.
		if !old.ExpiresAt.IsZero() {
			next.ExpiresAt = old.ExpiresAt
		}
		if _, err := s.Store.UseRefreshToken(ctx, hash, now, true, leeway, next); err != nil {
			return nil, s.refreshError(err)
		}
	}
	var rs *tenant.ResourceServer
	if old.Audience != "" {
		if rs = req.Tenant.ResourceServer(old.Audience); rs == nil {
			return nil, errBadRefresh
		}
	}
	resp, err := s.issue(ctx, issueRequest{Client: c, User: user, Resource: rs, Audience: old.Audience, Scope: scope, AccessToken: true, IDToken: true, AuthTime: user.LastLogin})
	if err != nil {
		return nil, err
	}
	resp.RefreshToken = nextValue
	return resp, nil
}

// errUserBlocked is Auth0's answer to a refresh token of a user an operator
// blocked.
var errUserBlocked = &Error{Kind: fault.Unauthenticated, Code: passwordless.CodeUnauthorized, Description: passwordless.DescUserBlocked}

func (s *Server) refreshError(err error) error {
	switch {
	case errors.Is(err, store.ErrTokenReused):
		return ErrRefreshReused
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrTokenRevoked):
		return errBadRefresh
	default:
		return fmt.Errorf("use refresh token: %w", err)
	}
}

// Revoke revokes a refresh token (and its rotation family) of client c,
// and returns the token it revoked (the zero token when value named none of
// c's). Unknown tokens are not an error (RFC 7009 §2.2).
func (s *Server) Revoke(ctx context.Context, c *tenant.Client, value string) (store.RefreshToken, error) {
	if value == "" {
		return store.RefreshToken{}, &Error{Kind: fault.Invalid, Code: "invalid_request", Description: "Missing required parameter: token"}
	}
	hash := HashToken(value)
	err := s.Store.RevokeRefreshToken(ctx, hash, c.ClientID, s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return store.RefreshToken{}, nil
	}
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("revoke refresh token: %w", err)
	}
	// Whose it was, for the tenant log; the revocation stands either way.
	t, err := s.Store.RefreshToken(ctx, hash)
	if err != nil {
		return store.RefreshToken{ClientID: c.ClientID}, nil
	}
	return t, nil
}
