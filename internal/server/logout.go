package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/sesame-id/sesame/internal/eventlog"
	"github.com/sesame-id/sesame/internal/login"
	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
	"github.com/sesame-id/sesame/internal/token"
)

// Logout: GET /v2/logout (Auth0's, what auth0.js's logout calls) and
// /oidc/logout (OpenID Connect RP-Initiated Logout, the discovery
// document's end_session_endpoint). Both end the browser's Sesame session
// first, whatever else the request says: a person who asked to sign out is
// signed out even when the application's return address is refused. Then
// the browser goes back to the application only to one of the client's
// Allowed Logout URLs; anything else gets the signed-out page, which says
// why, and no redirect. Sesame has no tenant-level list of logout URLs, so
// a return address needs the client (client_id, or the id_token_hint's
// audience).

// handleLogout is GET /v2/logout?client_id=…&returnTo=…: without returnTo,
// the client's first Allowed Logout URL (Auth0's default); federated is
// ignored (there is no upstream identity provider).
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !s.endSession(w, r) {
		return
	}
	q := r.URL.Query()
	var client *tenant.Client
	if id := q.Get("client_id"); id != "" {
		if client = s.Tenant().Client(id); client == nil {
			s.signedOut(w, r, nil, http.StatusBadRequest)
			return
		}
	}
	s.logoutRedirect(w, r, client, q.Get("returnTo"), "")
}

// handleOIDCLogout is /oidc/logout (GET or a POSTed form):
// id_token_hint (an ID token Sesame signed, expired or not), client_id,
// post_logout_redirect_uri and state, and ui_locales for the page;
// logout_hint is ignored.
func (s *Server) handleOIDCLogout(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		secureHeaders(w)
		renderError(w, http.StatusBadRequest, "The request could not be read.")
		return
	}
	if !s.endSession(w, r) {
		return
	}
	q := r.Form
	t := s.Tenant()
	var client *tenant.Client
	if id := q.Get("client_id"); id != "" {
		if client = t.Client(id); client == nil {
			s.signedOut(w, r, nil, http.StatusBadRequest)
			return
		}
	}
	if hint := q.Get("id_token_hint"); hint != "" {
		aud, ok := s.idTokenHintAudience(r, hint)
		hinted := t.Client(aud)
		if !ok || hinted == nil || (client != nil && client != hinted) {
			s.signedOut(w, r, client, http.StatusBadRequest)
			return
		}
		client = hinted
	}
	s.logoutRedirect(w, r, client, q.Get("post_logout_redirect_uri"), q.Get("state"))
}

// endSession ends the browser's session, if it has one, and clears its
// cookie. On a store failure it answers the error page and returns false.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) bool {
	noStore(w)
	var value string
	if c, err := r.Cookie(oauth.SessionCookie); err == nil {
		value = c.Value
	}
	var ended store.Session
	if value != "" {
		// Whose session it is, for the tenant log (slo).
		ended, _ = s.Sessions.Get(r.Context(), value)
	}
	clear, err := s.Sessions.End(r.Context(), value)
	if err != nil {
		secureHeaders(w)
		s.renderPageError(w, r, err)
		return false
	}
	if value != "" {
		http.SetCookie(w, clear)
	}
	if ended.ID != "" {
		e := s.caller(r, s.Tenant().Client(ended.ClientID), s.callerIP(r)).Event(eventlog.TypeSuccessLogout, "User successfully logged out")
		e.ClientID, e.UserID = ended.ClientID, ended.UserID
		e.Details = eventlog.Details(map[string]any{"session_id": ended.ID})
		s.event(r, e)
	}
	return true
}

// logoutRedirect sends the browser to returnTo when client allows it (with
// state, for /oidc/logout), to client's first Allowed Logout URL when
// returnTo is empty, else answers the signed-out page: 200 when there was
// nowhere to go, 400 when returnTo was refused.
func (s *Server) logoutRedirect(w http.ResponseWriter, r *http.Request, client *tenant.Client, returnTo, state string) {
	if returnTo == "" {
		if client != nil {
			for _, u := range client.AllowedLogoutURLs {
				if !strings.Contains(u, "*") {
					returnTo = u
					break
				}
			}
		}
		if returnTo == "" {
			s.signedOut(w, r, client, http.StatusOK)
			return
		}
	} else if client == nil || !client.LogoutURLAllowed(returnTo) {
		s.signedOut(w, r, client, http.StatusBadRequest)
		return
	}
	if state != "" {
		u, err := url.Parse(returnTo)
		if err != nil {
			s.signedOut(w, r, client, http.StatusBadRequest)
			return
		}
		v := u.Query()
		v.Set("state", state)
		u.RawQuery = v.Encode()
		returnTo = u.String()
	}
	w.Header().Set("Location", returnTo)
	w.WriteHeader(http.StatusFound)
}

// signedOut answers the signed-out page; a status other than 200 says the
// return address was refused.
func (s *Server) signedOut(w http.ResponseWriter, r *http.Request, client *tenant.Client, status int) {
	v := login.SignedOut{Page: login.Page{
		Lang:  login.Negotiate(r.FormValue("ui_locales"), r.Header.Get("Accept-Language")),
		Brand: login.BrandOf(client),
	}}
	if status != http.StatusOK {
		v.Problem = login.ReturnNotAllowed
	}
	s.renderLogin(w, status, v)
}

// idTokenHintAudience checks that hint is an ID token Sesame signed (with a
// key it still publishes; its expiry does not matter, RP-Initiated Logout
// §2) for this issuer, and returns its audience, the client.
func (s *Server) idTokenHintAudience(r *http.Request, hint string) (string, bool) {
	if len(hint) > 16<<10 {
		return "", false
	}
	payload, err := s.Keys.Verify(r.Context(), hint)
	if err != nil {
		return "", false
	}
	var c struct {
		Issuer   string         `json:"iss"`
		Audience token.Audience `json:"aud"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Issuer != s.Issuer || len(c.Audience) != 1 {
		return "", false
	}
	return c.Audience[0], true
}
