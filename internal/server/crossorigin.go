package server

import (
	"errors"
	"net/http"
	"slices"

	"github.com/sesame-id/sesame/internal/eventlog"
	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/login"
	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/tenant"
)

// Cross-origin authentication (spec §3.3), the way auth0.js's
// passwordlessLogin does it from an application's own origin:
//
//  1. POST /co/authenticate (handleCrossOriginAuthenticate), a credentialed
//     CORS request from one of the client's web_origins, checks the code
//     exactly as the OTP grant does and answers {login_ticket, co_verifier,
//     co_id}, setting a cookie with the verifier (oauth.TicketCookie);
//     auth0.js keeps the verifier in the application's storage too.
//  2. The browser goes to /authorize?…&login_ticket=…, whose handler calls
//     loginWithTicket: with the cookie, the ticket is redeemed and the
//     login completes; without it (third-party cookies blocked), the
//     verification page asks the application's cross_origin_loc page for
//     the verifier and posts it to POST /co/verify (handleCrossOriginVerify).
//
// A ticket is spent by its first redemption, whatever its outcome.

// coBodyFields are what a passwordless /co/authenticate body holds: all of
// them, and only them.
var coBodyFields = []string{"client_id", "credential_type", "username", "otp", "realm"}

// Auth0's answers on /co/authenticate.
var (
	errCOBody = &oauth.Error{Kind: fault.Invalid, Code: "invalid_request",
		Description: "Invalid request body. All and only of client_id, credential_type, username, otp, realm are required."}
	errCONotAllowed = &oauth.Error{Kind: fault.Unauthenticated, Code: "unauthorized_client", Description: "Cross origin login not allowed."}
	errCOCredential = &oauth.Error{Kind: fault.Invalid, Code: "unsupported_credential_type", Description: "Unknown credential type parameter."}
	errCOClient     = &oauth.Error{Kind: fault.Forbidden, Code: "unauthorized_client", Description: "invalid client"}
)

func (s *Server) handleCrossOriginAuthenticate(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	p, err := readParams(r)
	if err != nil {
		s.writeCOError(w, r, err)
		return
	}
	if p["client_id"] == "" {
		s.writeCOError(w, r, errCOBody)
		return
	}
	annotate(r, p["client_id"], p["realm"])
	t := s.Tenant()
	client := t.Client(p["client_id"])
	if client == nil {
		dropCORS(w)
		s.writeCOError(w, r, errCOClient)
		return
	}
	// The origin comes first: what follows is answered to it, credentials
	// allowed, and only a web origin of the client may read it.
	origin := r.Header.Get("Origin")
	if !client.WebOriginAllowed(origin) || origin == s.origin() {
		dropCORS(w)
		desc := "Origin " + truncate(origin, 256) + " is not allowed."
		if origin == "" {
			desc = "An Origin header is required."
		}
		s.event(r, s.caller(r, client, s.callerIP(r)).Event(eventlog.TypeFailedCORS, desc+" Behavior used for check: WEB ORIGIN"))
		http.Error(w, desc, http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	if !client.CrossOriginAuth {
		s.event(r, s.caller(r, client, s.callerIP(r)).Event(eventlog.TypeFailedCORS, errCONotAllowed.Description))
		s.writeCOError(w, r, errCONotAllowed)
		return
	}
	for _, k := range coBodyFields {
		if p[k] == "" {
			s.writeCOError(w, r, errCOBody)
			return
		}
	}
	if p["credential_type"] != tenant.GrantPasswordlessOTP {
		s.writeCOError(w, r, errCOCredential)
		return
	}
	for k := range p {
		if !slices.Contains(coBodyFields, k) {
			s.writeCOError(w, r, errCOBody)
			return
		}
	}
	// The same check, bucket and brute-force counts as the OTP grant: a
	// guess here is a guess there.
	ip := s.callerIP(r)
	limit := s.codeCheckLimit(ip)
	ticket, err := s.OAuth.CrossOriginLogin(r.Context(), oauth.CrossOriginRequest{
		Tenant: t, Client: client, Realm: p["realm"], Username: p["username"], OTP: p["otp"], IP: ip,
		UserAgent: userAgent(r), Takes: limit.takes, Taken: limit.Taken,
	})
	if !limit.done(w, r, err, client.ClientID, jsonLimited) {
		return
	}
	if err != nil {
		// A code check logged its own fcoa (or scoa) in its transaction;
		// a request refused before it (an unknown realm) is logged here.
		var oe *oauth.Error
		if errors.As(err, &oe) {
			e := s.caller(r, client, ip).Event(eventlog.TypeFailedCrossOrigin, oe.Description)
			e.Connection = truncate(p["realm"], 64)
			e.Details = eventlog.Details(map[string]any{"flow": "cross_origin", "error": oe.Code})
			s.event(r, e)
		}
		s.writeCOError(w, r, err)
		return
	}
	http.SetCookie(w, oauth.TicketCookie(s.Issuer, ticket))
	writeJSON(w, http.StatusOK, ticket)
}

// loginWithTicket answers /authorize when it carries a login_ticket. ar is
// the authorization request of client, its redirect_uri resolved
// (oauth.ResolveRedirectURI) and validated (ValidateAuthRequest), so that a
// refusal can go back to it. It writes the whole answer:
//
//   - with the ticket's cookie: the ticket is redeemed with the cookie's
//     verifier, a session opened and the browser sent to the redirect_uri
//     with the code or tokens (finishTicketLogin);
//   - without it, when the client has a cross_origin_loc: the
//     verification page, which posts the verifier it finds there to POST
//     /co/verify; nothing is redeemed yet;
//   - otherwise, or for a ticket that fails: access_denied to the
//     redirect_uri (oauth.ErrBadTicket).
func (s *Server) loginWithTicket(w http.ResponseWriter, r *http.Request, t *tenant.Tenant, client *tenant.Client, ar oauth.AuthRequest, ticket string) {
	id := oauth.TicketID(ticket)
	c, err := r.Cookie(oauth.TicketCookiePrefix + id)
	if err == nil && c.Value != "" {
		http.SetCookie(w, oauth.ClearTicketCookie(s.Issuer, id))
		s.finishTicketLogin(w, r, t, client, ar, ticket, c.Value)
		return
	}
	if client.CrossOriginLoc == "" {
		s.sendAuthError(w, r, ar, oauth.ErrBadTicket)
		return
	}
	v := ar.Values()
	v.Set("login_ticket", ticket)
	var fields []login.Field
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range v {
			if !yield(k) {
				return
			}
		}
	}) {
		fields = append(fields, login.Field{Name: k, Value: v.Get(k)})
	}
	page := login.CrossOriginVerify{
		Page: login.Page{
			Lang:     login.Negotiate(r.URL.Query().Get("ui_locales"), r.Header.Get("Accept-Language")),
			Brand:    login.BrandOf(client),
			ReturnTo: ar.RedirectURI,
		},
		Action: s.Issuer + "co/verify", Location: client.CrossOriginLoc, ID: id, Fields: fields,
	}
	s.renderLogin(w, http.StatusOK, page)
}

// handleCrossOriginVerify is POST /co/verify, where the verification page
// posts the authorization request, its login_ticket and the co_verifier it
// got from the application's cross_origin_loc page.
func (s *Server) handleCrossOriginVerify(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	if err := r.ParseForm(); err != nil {
		renderError(w, http.StatusBadRequest, "The request could not be read.")
		return
	}
	q := r.PostForm
	t := s.Tenant()
	client := t.Client(q.Get("client_id"))
	if client == nil {
		renderError(w, http.StatusBadRequest, "This sign-in names an unknown application.")
		return
	}
	ar := oauth.AuthRequestFromValues(q)
	if err := oauth.ResolveRedirectURI(client, &ar); err != nil {
		s.renderPageError(w, r, err)
		return
	}
	if err := s.OAuth.ValidateAuthRequest(t, client, &ar); err != nil {
		s.sendAuthError(w, r, ar, err)
		return
	}
	s.finishTicketLogin(w, r, t, client, ar, q.Get("login_ticket"), q.Get(login.FieldVerifier))
}

// finishTicketLogin redeems ticket with verifier and completes ar for its
// user: the browser's old session ends, a new one starts, and the browser
// goes to the redirect_uri with the code or tokens.
func (s *Server) finishTicketLogin(w http.ResponseWriter, r *http.Request, t *tenant.Tenant, client *tenant.Client, ar oauth.AuthRequest, ticket, verifier string) {
	user, err := s.OAuth.RedeemLoginTicket(r.Context(), client, ticket, verifier)
	if err != nil {
		s.sendAuthError(w, r, ar, err)
		return
	}
	sess, ok := s.startSession(w, r, client, user, s.callerIP(r))
	if !ok {
		return
	}
	s.finishAuthorize(w, r, t, client, ar, user, sess)
}
