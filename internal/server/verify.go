package server

import (
	"net/http"

	"github.com/sesame-id/sesame/internal/eventlog"
	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/passwordless"
)

// handleVerify is POST /passwordless/verify (spec §3.2), which auth0.js calls
// before it navigates to verify_redirect: it checks the code without
// consuming it, and a wrong code uses up one of its tries.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	p, err := readParams(r)
	if err != nil {
		s.writeVerifyError(w, r, err)
		return
	}
	s.corsFor(w, r, p["client_id"])
	annotate(r, p["client_id"], p["connection"])
	username := firstOf(p, "email", "phone_number", "username")
	code := firstOf(p, "verification_code", "password")
	for _, req := range []struct{ name, value string }{
		{"client_id", p["client_id"]}, {"connection", p["connection"]}, {"username", username}, {"verification_code", code},
	} {
		if req.value == "" {
			s.writeVerifyError(w, r, invalidRequest("missing "+req.name+" parameter"))
			return
		}
	}
	t := s.Tenant()
	client := t.Client(p["client_id"])
	if client == nil {
		s.writeVerifyError(w, r, &oauth.Error{Kind: fault.Forbidden, Code: "unauthorized_client", Description: "invalid client"})
		return
	}
	conn := t.Connection(p["connection"])
	if conn == nil || (conn.Strategy != "email" && conn.Strategy != "sms") {
		s.writeVerifyError(w, r, invalidRequest("the connection was not found"))
		return
	}
	if !conn.EnabledFor(client.ClientID) {
		s.writeVerifyError(w, r, invalidRequest("the connection was disabled"))
		return
	}
	ip := s.callerIP(r)
	limit := s.codeCheckLimit(ip)
	err = s.Passwordless.Check(r.Context(), passwordless.VerifyRequest{
		Client: client, Connection: conn, Username: username, OTP: code, IP: ip,
		Takes: limit.takes, Taken: limit.Taken, UserAgent: userAgent(r),
		Log: passwordless.LogAs{Failure: eventlog.TypeFailedLogin, Details: map[string]any{"flow": "passwordless_verify"}},
	})
	if !limit.done(w, r, err, client.ClientID, jsonLimited) {
		return
	}
	if err != nil {
		// Spec §3.2: a wrong code is 401 invalid_user_password here; an
		// expired or exhausted code answers the same, with its own text.
		s.writeVerifyError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func firstOf(p map[string]string, names ...string) string {
	for _, n := range names {
		if v := p[n]; v != "" {
			return v
		}
	}
	return ""
}
