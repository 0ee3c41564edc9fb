package server

import (
	"errors"
	"net/http"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/tenant"
)

// grantErrorURI is what Auth0 adds to unauthorized_client errors.
const grantErrorURI = "https://auth0.com/docs/clients/client-grant-types"

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	p, err := readParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.corsFor(w, r, p["client_id"])
	grant := p["grant_type"]
	if grant == "" {
		s.writeError(w, r, invalidRequest("Missing required parameter: grant_type"))
		return
	}
	t := s.Tenant()
	client, err := s.authenticateTokenClient(r, t, p)
	if errors.Is(err, errClientAuth) {
		// Failed client authentication counts against the caller, so that
		// secrets cannot be guessed faster than codes.
		ip := s.callerIP(r)
		if !s.allow(w, r, ratelimit.VerifyIPKey(ip), s.limits().VerifyPerIP, ip, truncate(p["client_id"], 64), jsonLimited) {
			return
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// authenticateTokenClient refused every confidential client without its
	// secret, so here a confidential client has authenticated.
	ip := s.endUserIP(r, client, true)
	notAllowed := &oauth.Error{Kind: fault.Forbidden, Code: "unauthorized_client",
		Description: "Grant type '" + truncate(grant, 100) + "' not allowed for the client.", URI: grantErrorURI}

	var resp *oauth.TokenResponse
	switch grant {
	case tenant.GrantPasswordlessOTP:
		// Not from SPAs (spec §4.1): they use /co/authenticate.
		if !client.AllowsGrant(grant) || client.AppType == tenant.AppSPA {
			s.writeError(w, r, notAllowed)
			return
		}
		for _, k := range []string{"username", "otp", "realm"} {
			if p[k] == "" {
				s.writeError(w, r, invalidRequest("Missing required parameter: "+k))
				return
			}
		}
		if ru := p["redirect_uri"]; ru != "" && !client.CallbackAllowed(ru) {
			s.writeError(w, r, &oauth.Error{Kind: fault.Forbidden, Code: "unauthorized_client", Description: "The redirect_uri is not in the list of allowed callback URLs."})
			return
		}
		audience := p["audience"]
		if audience == "" {
			audience = p["resource"]
		}
		limit := s.codeCheckLimit(ip)
		resp, err = s.OAuth.PasswordlessOTP(r.Context(), oauth.OTPRequest{
			Tenant: t, Client: client, Realm: p["realm"], Username: p["username"], OTP: p["otp"],
			Audience: audience, Scope: p["scope"], IP: ip, Takes: limit.takes, Taken: limit.Taken,
		})
		if !limit.done(w, r, err, client.ClientID, jsonLimited) {
			return
		}
	case tenant.GrantRefreshToken:
		if !s.allow(w, r, ratelimit.TokenIPKey(ip), s.limits().TokenPerIP, ip, client.ClientID, jsonLimited) {
			return
		}
		if !client.AllowsGrant(grant) {
			s.writeError(w, r, notAllowed)
			return
		}
		if p["refresh_token"] == "" {
			s.writeError(w, r, invalidRequest("Missing required parameter: refresh_token"))
			return
		}
		resp, err = s.OAuth.Refresh(r.Context(), oauth.RefreshRequest{
			Tenant: t, Client: client, RefreshToken: p["refresh_token"], Scope: p["scope"],
		})
	case tenant.GrantAuthorizationCode:
		if !s.allow(w, r, ratelimit.TokenIPKey(ip), s.limits().TokenPerIP, ip, client.ClientID, jsonLimited) {
			return
		}
		if !client.AllowsGrant(grant) {
			s.writeError(w, r, notAllowed)
			return
		}
		if p["code"] == "" {
			s.writeError(w, r, invalidRequest("Missing required parameter: code"))
			return
		}
		resp, err = s.OAuth.ExchangeCode(r.Context(), oauth.CodeRequest{
			Tenant: t, Client: client, Code: p["code"], RedirectURI: p["redirect_uri"], CodeVerifier: p["code_verifier"],
		})
	case tenant.GrantClientCredentials:
		if !s.allow(w, r, ratelimit.TokenIPKey(ip), s.limits().TokenPerIP, ip, client.ClientID, jsonLimited) {
			return
		}
		// A machine-to-machine application, confidential (so it has
		// authenticated with its secret above), with the grant enabled.
		if !client.AllowsGrant(grant) || client.AppType != tenant.AppNonInteractive || client.IsPublic() {
			s.writeError(w, r, notAllowed)
			return
		}
		audience := p["audience"]
		if audience == "" {
			audience = p["resource"]
		}
		resp, err = s.OAuth.ClientCredentials(r.Context(), oauth.ClientCredentialsRequest{
			Tenant: t, Client: client, Audience: audience, Scope: p["scope"],
		})
	default:
		s.writeError(w, r, &oauth.Error{Kind: fault.Invalid, Code: "unsupported_grant_type",
			Description: "Unsupported grant type: " + truncate(grant, 100)})
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
