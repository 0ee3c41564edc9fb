package server

import (
	"net/http"

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
	client, err := s.authenticateTokenClient(r, s.Tenant(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.OAuth.Revoke(r.Context(), client, p["token"]); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
