package server

import (
	"net/http"

	"github.com/sesame-id/sesame/internal/eventlog"
	"github.com/sesame-id/sesame/internal/ratelimit"
)

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	// Every revocation counts, whether its client authenticates or not:
	// the bucket of the authorization_code and refresh_token grants.
	ip := s.callerIP(r)
	if !s.allow(w, r, ratelimit.TokenIPKey(ip), s.limits().TokenPerIP, ip, "", jsonLimited) {
		return
	}
	p, err := readParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.corsFor(w, r, p["client_id"])
	annotate(r, p["client_id"], "")
	client, err := s.authenticateTokenClient(r, s.Tenant(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	revoked, err := s.OAuth.Revoke(r.Context(), client, p["token"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if revoked.ClientID != "" {
		// Logged when a token was revoked, not for an unknown one.
		e := s.caller(r, client, ip).Event(eventlog.TypeSuccessRevocation, "Successfully revoked a refresh token")
		e.UserID = revoked.UserID
		s.event(r, e)
	}
	w.WriteHeader(http.StatusOK)
}
