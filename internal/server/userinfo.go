package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/token"
)

// handleUserInfo answers the OIDC claims of the access token's user, filtered
// by the token's scope.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	raw, ok := bearerToken(r)
	if !ok {
		bearerError(w, http.StatusUnauthorized, "")
		return
	}
	claims, err := s.Keys.VerifyAccessToken(r.Context(), raw, s.Issuer, s.OAuth.UserInfoAudience(), s.Now())
	if err != nil {
		bearerError(w, http.StatusUnauthorized, `, error="invalid_token"`)
		return
	}
	s.corsFor(w, r, claims.AZP)
	if !token.HasScope(claims.Scope, "openid") {
		bearerError(w, http.StatusForbidden, `, error="insufficient_scope", scope="openid"`)
		return
	}
	if !s.allow(w, r, ratelimit.UserInfoKey(claims.Subject), s.limits().UserInfoPerUser, s.callerIP(r), claims.AZP, textLimited) {
		return
	}
	user, err := s.OAuth.User(r.Context(), claims.Subject)
	if errors.Is(err, store.ErrNotFound) {
		bearerError(w, http.StatusUnauthorized, `, error="invalid_token"`)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body := oauth.UserClaims(user, claims.Scope)
	body["sub"] = user.UserID
	writeJSON(w, http.StatusOK, body)
}

// bearerToken reads "Authorization: Bearer <token>".
func bearerToken(r *http.Request) (string, bool) {
	scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	value = strings.TrimSpace(value)
	return value, value != ""
}
