package server

import "net/http"

// handleAlive is GET /healthz (and /health, its older name): the process is
// alive.
func handleAlive(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReady is GET /readyz.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if s.Ready != nil {
		if err := s.Ready(r.Context()); err != nil {
			s.Logger.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "temporarily_unavailable", Description: "not ready: " + err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
