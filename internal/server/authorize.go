package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/login"
	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// authorizeExtra are the parameters /authorize takes beyond the
// authorization request itself; the login transaction keeps them.
var authorizeExtra = []string{"prompt", "max_age", "connection", "login_hint", "ui_locales"}

// maxParam bounds each parameter of /authorize: the request travels in the
// login transaction's cookie.
const maxParam = 1024

// handleAuthorize is GET /authorize (OIDC Core §3.1.2, Auth0's
// /authorize): with a session that satisfies the request, straight back to
// the application; otherwise the hosted login page. Problems with the
// client or the redirect_uri are an error page; every other problem goes to
// the verified redirect_uri.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	annotate(r, q.Get("client_id"), q.Get("connection"))
	t := s.Tenant()
	client := t.Client(q.Get("client_id"))
	if client == nil {
		s.renderLoginError(w, r, http.StatusBadRequest, login.InvalidRequest, nil)
		return
	}
	for k, v := range q {
		if len(v) > 1 && k != "resource" {
			s.renderLoginError(w, r, http.StatusBadRequest, login.InvalidRequest, client)
			return
		}
	}
	ar := oauth.AuthRequestFromValues(q)
	if err := oauth.ResolveRedirectURI(client, &ar); err != nil {
		s.renderPageError(w, r, err)
		return
	}
	fail := func(code, description string) {
		s.sendAuthResult(w, oauth.ErrorResult(ar, code, description))
	}
	for k, v := range q {
		if len(v[0]) > maxParam {
			fail("invalid_request", "The parameter "+truncate(k, 32)+" is too long")
			return
		}
	}
	if err := s.OAuth.ValidateAuthRequest(t, client, &ar); err != nil {
		s.sendAuthError(w, r, ar, err)
		return
	}
	// Cross-origin authentication (crossorigin.go): the login_ticket of
	// POST /co/authenticate logs its user in, once, whatever the prompt.
	if ticket := q.Get("login_ticket"); ticket != "" {
		s.loginWithTicket(w, r, t, client, ar, ticket)
		return
	}
	prompt := strings.Fields(q.Get("prompt"))
	has := func(p string) bool { return slices.Contains(prompt, p) }
	if has("none") && len(prompt) > 1 {
		fail("invalid_request", "prompt=none cannot be combined with other values")
		return
	}
	maxAge := -1
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fail("invalid_request", "max_age must be a number of seconds")
			return
		}
		maxAge = n
	}
	if name := q.Get("connection"); name != "" {
		if c := t.Connection(name); c == nil || !passwordlessConnection(c) || !c.EnabledFor(client.ClientID) {
			fail("invalid_request", "the connection was not found or is not enabled for this application")
			return
		}
	}

	// Single sign-on: a session of this browser that is recent enough.
	if !has("login") {
		if sess, ok := s.currentSession(r, maxAge); ok {
			user, err := s.OAuth.User(r.Context(), sess.UserID)
			switch {
			case err == nil:
				s.finishAuthorize(w, r, t, client, ar, user, sess)
				return
			case !errors.Is(err, store.ErrNotFound):
				s.renderPageError(w, r, err)
				return
			}
			// The user is gone: the session logs no one in.
		} else if r.Context().Err() != nil {
			return
		}
	}
	if has("none") {
		fail("login_required", "Login required")
		return
	}

	// The hosted page: a new login transaction, in a cookie.
	id, err := login.NewTxID()
	if err != nil {
		s.renderPageError(w, r, err)
		return
	}
	params := ar.Values()
	for _, k := range authorizeExtra {
		if v := q.Get(k); v != "" && k != "prompt" {
			params.Set(k, v)
		}
	}
	tx := login.Transaction{ID: id, Params: params, ExpiresAt: s.Now().Add(login.TxLifetime).Unix()}
	if err := s.setTx(w, tx); err != nil {
		fail("invalid_request", "The request is too large")
		return
	}
	s.redirectToLoginPage(w)
}

// passwordlessConnection reports whether the hosted page can use c.
func passwordlessConnection(c *tenant.Connection) bool {
	return c.Strategy == "email" || c.Strategy == "sms"
}

// currentSession is the browser's login session when it is live and, with
// maxAge >= 0, its authentication is at most maxAge seconds old.
func (s *Server) currentSession(r *http.Request, maxAge int) (store.Session, bool) {
	c, err := r.Cookie(oauth.SessionCookie)
	if err != nil {
		return store.Session{}, false
	}
	sess, err := s.Sessions.Get(r.Context(), c.Value)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.Logger.Warn("read session", "err", err)
		}
		return store.Session{}, false
	}
	if maxAge >= 0 && s.Now().Sub(sess.AuthTime) > time.Duration(maxAge)*time.Second {
		return store.Session{}, false
	}
	return sess, true
}

// finishAuthorize sends the browser back to the application with what the
// request asked for, for the user of sess.
func (s *Server) finishAuthorize(w http.ResponseWriter, r *http.Request, t *tenant.Tenant, client *tenant.Client, ar oauth.AuthRequest, user store.User, sess store.Session) {
	res, err := s.OAuth.Authorize(r.Context(), t, client, ar, user, sess, true)
	if err != nil {
		s.sendAuthError(w, r, ar, err)
		return
	}
	s.sendAuthResult(w, res)
}

// startSession logs user in in this browser: the session it had, if any,
// ends (its row goes, not only its cookie), and a new one starts, its cookie
// set on w. On failure it answers the request and reports false.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, client *tenant.Client, user store.User, ip string) (store.Session, bool) {
	if old, err := r.Cookie(oauth.SessionCookie); err == nil {
		if _, err := s.Sessions.End(r.Context(), old.Value); err != nil {
			s.renderPageError(w, r, err)
			return store.Session{}, false
		}
	}
	sess, cookie, err := s.Sessions.Create(r.Context(), oauth.Login{User: user, ClientID: client.ClientID, IP: ip, UserAgent: r.UserAgent()})
	if err != nil {
		s.renderPageError(w, r, err)
		return store.Session{}, false
	}
	http.SetCookie(w, cookie)
	return sess, true
}

// authRequestOf reads the authorization request a transaction keeps and
// checks it again against the tenant as it is now.
func (s *Server) authRequestOf(t *tenant.Tenant, tx login.Transaction) (*tenant.Client, oauth.AuthRequest, error) {
	client := t.Client(tx.Params.Get("client_id"))
	if client == nil {
		return nil, oauth.AuthRequest{}, &oauth.Error{Kind: fault.Invalid, Code: "invalid_request", Description: "the application is gone"}
	}
	ar := oauth.AuthRequestFromValues(tx.Params)
	if err := oauth.ResolveRedirectURI(client, &ar); err != nil {
		return nil, oauth.AuthRequest{}, err
	}
	if err := s.OAuth.ValidateAuthRequest(t, client, &ar); err != nil {
		return client, ar, err
	}
	return client, ar, nil
}

// loginPath is the hosted page, under the issuer's path.
func (s *Server) loginPath() string {
	u, err := url.Parse(s.Issuer)
	if err != nil || u.Path == "" {
		return "/login"
	}
	return strings.TrimSuffix(u.Path, "/") + "/login"
}

func (s *Server) redirectToLoginPage(w http.ResponseWriter) {
	noStore(w)
	w.Header().Set("Location", s.loginPath())
	w.WriteHeader(http.StatusFound)
}
