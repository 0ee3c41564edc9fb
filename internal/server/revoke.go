package server

import "net/http"

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	noStore(w)
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
