package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// SessionCookie is the name of the login session cookie.
const SessionCookie = "sesame_session"

// SessionLifetime is how long a login session lasts.
const SessionLifetime = 3 * 24 * time.Hour

// isCanonicalEmail reports whether s is its own CanonicalEmail, as the
// address in every link Sesame makes is.
func isCanonicalEmail(s string) bool {
	c, err := passwordless.CanonicalEmail(s)
	return err == nil && c == s
}

// handleVerifyRedirectGet is the magic link. By default it answers a page
// with one button that POSTs the code, because mail scanners (Safe Links,
// Mimecast…) fetch links before the user does and would burn a single-use
// link. A GET or HEAD never consumes the code and is never counted as a try.
// With options.sesame.link_confirmation false, GET logs in at once as Auth0
// does.
func (s *Server) handleVerifyRedirectGet(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	q := r.URL.Query()
	t := s.Tenant()
	client, conn, ar, ok := s.linkContext(w, r, t, q)
	if !ok {
		return
	}
	if r.Method == http.MethodGet && !conn.Options.ConfirmLinks() {
		s.verifyRedirect(w, r, t, client, conn, ar, q)
		return
	}
	hidden := []hiddenField{}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if !yield(k) {
				return
			}
		}
	}) {
		hidden = append(hidden, hiddenField{Name: k, Value: q.Get(k)})
	}
	renderPage(w, http.StatusOK, confirmPage, confirmData{
		Action:      s.Issuer + passwordless.VerifyRedirectPath,
		Application: client.Name,
		Identifier:  q.Get("email"), // canonical: linkContext checked it
		Fields:      hidden,
	})
}

// handleVerifyRedirectPost consumes the code the confirmation page posts.
func (s *Server) handleVerifyRedirectPost(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	if err := r.ParseForm(); err != nil {
		renderError(w, http.StatusBadRequest, "The request could not be read.")
		return
	}
	q := r.PostForm
	t := s.Tenant()
	client, conn, ar, ok := s.linkContext(w, r, t, q)
	if !ok {
		return
	}
	s.verifyRedirect(w, r, t, client, conn, ar, q)
}

// linkContext resolves the client, connection and authorization request of
// a magic link. Problems that make a redirect unsafe are answered with an
// error page here.
func (s *Server) linkContext(w http.ResponseWriter, r *http.Request, t *tenant.Tenant, q url.Values) (*tenant.Client, *tenant.Connection, oauth.AuthRequest, bool) {
	client := t.Client(q.Get("client_id"))
	if client == nil {
		renderError(w, http.StatusBadRequest, "This link is not valid: it names an unknown application.")
		return nil, nil, oauth.AuthRequest{}, false
	}
	conn := t.Connection(q.Get("connection"))
	if conn == nil || conn.Strategy != "email" || !conn.EnabledFor(client.ClientID) {
		renderError(w, http.StatusBadRequest, "This link is not valid: its connection does not exist or is not enabled for the application.")
		return nil, nil, oauth.AuthRequest{}, false
	}
	// The confirmation page shows this address, and the user decides from
	// it: only the canonical identifier a link was made for is shown or
	// checked, never a variant (a bidi override can make one address read
	// as another).
	if email := q.Get("email"); len(q["email"]) != 1 || !isCanonicalEmail(email) {
		renderError(w, http.StatusBadRequest, "This link is not valid: its email address is not one Sesame sends links to.")
		return nil, nil, oauth.AuthRequest{}, false
	}
	ar := oauth.AuthRequestFromValues(q)
	if err := oauth.ResolveRedirectURI(client, &ar); err != nil {
		s.renderPageError(w, r, err)
		return nil, nil, oauth.AuthRequest{}, false
	}
	return client, conn, ar, true
}

// errLinkAltered refuses a magic link whose authorization parameters are not
// the ones its code was sent with.
var errLinkAltered = errors.New("magic link parameters differ from the ones stored with its code")

// bindLink is the store's Accept for the code verify_redirect presents. For
// a code sent as a magic link, the authorization request is the one stored
// with the code at /passwordless/start, and a request whose parameters
// differ from it in any way (a switched code_challenge_method or
// redirect_uri, an added or dropped parameter) is refused before the code
// is consumed. A code sent as a code has no link: auth0.js's
// passwordlessVerify builds this URL from the application's own settings
// after the user typed the code, so the request's parameters (ar) are the
// authorization request. Either is checked against the tenant as it is now
// and written to *bound.
func (s *Server) bindLink(t *tenant.Tenant, client *tenant.Client, q url.Values, ar oauth.AuthRequest, bound *oauth.AuthRequest) func(store.Code) error {
	return func(c store.Code) error {
		stored, err := passwordless.LinkParams(c)
		if errors.Is(err, passwordless.ErrNotALink) {
			if err := s.OAuth.ValidateAuthRequest(t, client, &ar); err != nil {
				return err
			}
			*bound = ar
			return nil
		}
		if err != nil {
			return err
		}
		for _, k := range oauth.AuthRequestParams {
			if q.Get(k) != stored.Get(k) {
				return errLinkAltered
			}
		}
		ar := oauth.AuthRequestFromValues(stored)
		if err := s.OAuth.ValidateAuthRequest(t, client, &ar); err != nil {
			return err
		}
		*bound = ar
		return nil
	}
}

// verifyRedirect checks the code, logs the user in and sends the browser to
// the application with the authorization request stored with the code.
// The request's own parameters are only compared with that one (bindLink);
// its registered redirect_uri is where a wrong or expired code is reported.
func (s *Server) verifyRedirect(w http.ResponseWriter, r *http.Request, t *tenant.Tenant, client *tenant.Client, conn *tenant.Connection, ar oauth.AuthRequest, q url.Values) {
	ip := s.callerIP(r)
	limit := s.codeCheckLimit(ip)
	var bound oauth.AuthRequest
	user, err := s.Passwordless.Verify(r.Context(), passwordless.VerifyRequest{
		Client: client, Connection: conn, Username: q.Get("email"), OTP: q.Get("verification_code"), IP: ip,
		Takes: limit.takes, Taken: limit.Taken, Accept: s.bindLink(t, client, q, ar, &bound),
	})
	if !limit.done(w, r, err, client.ClientID, pageLimited) {
		return
	}
	if err != nil {
		if errors.Is(err, errLinkAltered) {
			// Not sent anywhere: the request's redirect_uri is not the
			// link's. The code stays as it was for its own link.
			renderError(w, http.StatusBadRequest, "This link is not valid: it was changed after it was sent. Open the link from the email as it is, or ask for a new one.")
			return
		}
		// A wrong, expired or used-up code, or the request of a typed code
		// that is not valid, or a link's that no longer passes (the tenant
		// changed): the redirect_uri is a registered one either way.
		if res, ok := authError(ar, err); ok {
			s.sendAuthResult(w, res)
			return
		}
		s.renderPageError(w, r, err)
		return
	}
	sess, err := s.startSession(w, r, client, user)
	if err != nil {
		s.renderPageError(w, r, err)
		return
	}
	res, err := s.OAuth.Authorize(r.Context(), t, client, bound, user, sess, false)
	if err != nil {
		if res, ok := authError(ar, err); ok {
			s.sendAuthResult(w, res)
			return
		}
		s.renderPageError(w, r, err)
		return
	}
	s.sendAuthResult(w, res)
}

// startSession opens a login session and sets its cookie: HttpOnly,
// SameSite=Lax, Secure whenever the issuer is https.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, client *tenant.Client, user store.User) (store.Session, error) {
	now := s.Now()
	value, err := randomToken(32)
	if err != nil {
		return store.Session{}, err
	}
	id, err := randomToken(16)
	if err != nil {
		return store.Session{}, err
	}
	sess := store.Session{
		ID: id, Hash: oauth.HashToken(value), UserID: user.UserID, ClientID: client.ClientID,
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime),
		IP: s.callerIP(r), UserAgent: truncate(r.UserAgent(), 512),
	}
	if err := s.OAuth.Store.CreateSession(r.Context(), sess); err != nil {
		return store.Session{}, fmt.Errorf("create session: %w", err)
	}
	u, _ := url.Parse(s.Issuer)
	path := "/"
	if u != nil && u.Path != "" {
		path = u.Path
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: value, Path: path, Expires: sess.ExpiresAt,
		MaxAge: int(SessionLifetime.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: u != nil && u.Scheme == "https",
	})
	return sess, nil
}
