package server

import (
	"errors"
	"net/http"

	"github.com/sesame-id/sesame/internal/eventlog"
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
	annotate(r, p["client_id"], p["realm"])
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
		s.grantEvent(r, eventlog.Caller{ClientID: truncate(p["client_id"], 64), IP: s.callerIP(r), UserAgent: userAgent(r)}, grant, nil, err)
		s.writeError(w, r, err)
		return
	}
	// authenticateTokenClient refused every confidential client without its
	// secret, so here a confidential client has authenticated.
	ip := s.endUserIP(r, client, true)
	caller := s.caller(r, client, ip)
	fail := func(err error) {
		s.grantEvent(r, caller, grant, nil, err)
		s.writeError(w, r, err)
	}
	notAllowed := &oauth.Error{Kind: fault.Forbidden, Code: "unauthorized_client",
		Description: "Grant type '" + truncate(grant, 100) + "' not allowed for the client.", URI: grantErrorURI}

	var resp *oauth.TokenResponse
	switch grant {
	case tenant.GrantPasswordlessOTP:
		// Not from SPAs (spec §4.1): they use /co/authenticate.
		if !client.AllowsGrant(grant) || client.AppType == tenant.AppSPA {
			fail(notAllowed)
			return
		}
		for _, k := range []string{"username", "otp", "realm"} {
			if p[k] == "" {
				fail(invalidRequest("Missing required parameter: " + k))
				return
			}
		}
		if ru := p["redirect_uri"]; ru != "" && !client.CallbackAllowed(ru) {
			fail(&oauth.Error{Kind: fault.Forbidden, Code: "unauthorized_client", Description: "The redirect_uri is not in the list of allowed callback URLs."})
			return
		}
		audience := p["audience"]
		if audience == "" {
			audience = p["resource"]
		}
		limit := s.codeCheckLimit(ip)
		resp, err = s.OAuth.PasswordlessOTP(r.Context(), oauth.OTPRequest{
			Tenant: t, Client: client, Realm: p["realm"], Username: p["username"], OTP: p["otp"],
			Audience: audience, Scope: p["scope"], IP: ip, UserAgent: userAgent(r), Takes: limit.takes, Taken: limit.Taken,
		})
		if !limit.done(w, r, err, client.ClientID, jsonLimited) {
			return
		}
	case tenant.GrantRefreshToken:
		if !s.allow(w, r, ratelimit.TokenIPKey(ip), s.limits().TokenPerIP, ip, client.ClientID, jsonLimited) {
			return
		}
		if !client.AllowsGrant(grant) {
			fail(notAllowed)
			return
		}
		if p["refresh_token"] == "" {
			fail(invalidRequest("Missing required parameter: refresh_token"))
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
			fail(notAllowed)
			return
		}
		if p["code"] == "" {
			fail(invalidRequest("Missing required parameter: code"))
			return
		}
		resp, err = s.OAuth.ExchangeCode(r.Context(), oauth.CodeRequest{
			Tenant: t, Client: client, Code: p["code"], RedirectURI: p["redirect_uri"], CodeVerifier: p["code_verifier"],
		})
	case tenant.GrantClientCredentials:
		if !s.allow(w, r, ratelimit.TokenIPKey(ip), s.limits().TokenPerIP, ip, client.ClientID, jsonLimited) {
			return
		}
		audience := p["audience"]
		if audience == "" {
			audience = p["resource"]
		}
		// A machine-to-machine application, confidential (so it has
		// authenticated with its secret above), with the grant enabled.
		if !client.AllowsGrant(grant) || client.AppType != tenant.AppNonInteractive || client.IsPublic() {
			err = notAllowed
		} else {
			resp, err = s.OAuth.ClientCredentials(r.Context(), oauth.ClientCredentialsRequest{
				Tenant: t, Client: client, Audience: audience, Scope: p["scope"],
			})
		}
		// seccft or feccft, naming the API asked for.
		s.clientCredentialsEvent(r, caller, truncate(audience, 256), err)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
		return
	default:
		s.writeError(w, r, &oauth.Error{Kind: fault.Invalid, Code: "unsupported_grant_type",
			Description: "Unsupported grant type: " + truncate(grant, 100)})
		return
	}
	// The OTP grant's code check logged its own s or fepotpft.
	s.grantEvent(r, caller, grant, resp, err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// clientCredentialsEvent logs a client_credentials grant: seccft, or
// feccft with the answer's error (a failure of the store is not logged).
func (s *Server) clientCredentialsEvent(r *http.Request, c eventlog.Caller, audience string, err error) {
	if err == nil {
		s.event(r, eventlog.ClientCredentials(c, audience, "", ""))
		return
	}
	var oe *oauth.Error
	if errors.As(err, &oe) {
		s.event(r, eventlog.ClientCredentials(c, audience, oe.Code, oe.Description))
	}
}

// grantEvents are the tenant log types of a grant's success and failure;
// the passwordless OTP grant's success is logged by its code check. The
// client_credentials grant is logged by clientCredentialsEvent once served
// (with the audience), here only when its client fails to authenticate.
var grantEvents = map[string][2]string{
	tenant.GrantPasswordlessOTP:   {"", eventlog.TypeFailedOTPExchange},
	tenant.GrantClientCredentials: {eventlog.TypeSuccessCCExchange, eventlog.TypeFailedCCExchange},
	tenant.GrantRefreshToken:      {eventlog.TypeSuccessRefresh, eventlog.TypeFailedRefresh},
	tenant.GrantAuthorizationCode: {eventlog.TypeSuccessCodeExchange, eventlog.TypeFailedCodeExchange},
}

// grantEvent logs the outcome of a token request for grant: its success
// (resp), or its refusal (err, an *oauth.Error: a failure of the store or a
// refusal the code check logged itself, a passwordless error, is not
// logged here; a rate limit logged api_limit).
func (s *Server) grantEvent(r *http.Request, c eventlog.Caller, grant string, resp *oauth.TokenResponse, err error) {
	types, ok := grantEvents[grant]
	if !ok {
		return
	}
	details := map[string]any{"grant_type": grant}
	if err == nil {
		if types[0] == "" || resp == nil {
			return
		}
		e := c.Event(types[0], "")
		e.UserID, e.Details = resp.UserID, eventlog.Details(details)
		s.event(r, e)
		return
	}
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		return
	}
	typ := types[1]
	if errors.Is(err, oauth.ErrRefreshReused) {
		typ = eventlog.TypeFailedRotatingReuse
	}
	details["error"] = oe.Code
	e := c.Event(typ, oe.Description)
	e.Details = eventlog.Details(details)
	s.event(r, e)
}
