package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/sesame-id/sesame/internal/eventlog"
	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/tenant"
)

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
	annotate(r, q.Get("client_id"), q.Get("connection"))
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

// verifyRedirect checks the code, logs the user in and sends the browser to
// the application with the authorization request stored with the code.
// The request's own parameters are only compared with that one (BindLink);
// its registered redirect_uri is where a wrong or expired code is reported.
func (s *Server) verifyRedirect(w http.ResponseWriter, r *http.Request, t *tenant.Tenant, client *tenant.Client, conn *tenant.Connection, ar oauth.AuthRequest, q url.Values) {
	ip := s.callerIP(r)
	limit := s.codeCheckLimit(ip)
	var bound oauth.AuthRequest
	user, err := s.Passwordless.Verify(r.Context(), passwordless.VerifyRequest{
		Client: client, Connection: conn, Username: q.Get("email"), OTP: q.Get("verification_code"), IP: ip,
		Takes: limit.takes, Taken: limit.Taken, Accept: s.OAuth.BindLink(t, client, q, ar, &bound),
		UserAgent: userAgent(r),
		Log: passwordless.LogAs{Success: eventlog.TypeSuccessLogin, Failure: eventlog.TypeFailedLogin,
			Details: map[string]any{"flow": "magic_link"}},
	})
	if !limit.done(w, r, err, client.ClientID, pageLimited) {
		return
	}
	if err != nil {
		if errors.Is(err, oauth.ErrLinkAltered) {
			// Not sent anywhere: the request's redirect_uri is not the
			// link's. The code stays as it was for its own link.
			renderError(w, http.StatusBadRequest, "This link is not valid: it was changed after it was sent. Open the link from the email as it is, or ask for a new one.")
			return
		}
		// A wrong, expired or used-up code, or the request of a typed code
		// that is not valid, or a link's that no longer passes (the tenant
		// changed): the redirect_uri is a registered one either way.
		s.sendAuthError(w, r, ar, err)
		return
	}
	sess, cookie, err := s.Sessions.Create(r.Context(), oauth.Login{User: user, ClientID: client.ClientID, IP: ip, UserAgent: r.UserAgent()})
	if err != nil {
		s.renderPageError(w, r, err)
		return
	}
	http.SetCookie(w, cookie)
	res, err := s.OAuth.Authorize(r.Context(), t, client, bound, user, sess, false)
	if err != nil {
		s.sendAuthError(w, r, ar, err)
		return
	}
	s.sendAuthResult(w, res)
}
