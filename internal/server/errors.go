package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/store"
)

// This file is the one place where errors become answers. Domain errors
// (oauth.Error, passwordless.Error) say what went wrong with a fault.Kind and
// Auth0's code; each endpoint family answers them in its own shape:
//
//   - the JSON APIs (/passwordless/start, /oauth/token, /oauth/revoke, and
//     the JSON of any other route): writeError, Auth0's {error,
//     error_description[, error_uri]} with the Kind's status (httpStatus);
//   - POST /passwordless/verify: writeVerifyError, where a Denied code is
//     401 invalid_user_password;
//   - POST /co/authenticate: writeCOError, where a Denied code is 403
//     access_denied (and a refused origin plain text, as Auth0 answers it);
//   - the browser routes (/passwordless/verify_redirect, /co/verify, the
//     logout endpoints): authError sends
//     the error to a registered redirect_uri, renderPageError shows the
//     HTML error page where there is none to send it to;
//   - /userinfo: bearerError, RFC 6750's challenge in plain text;
//   - a rate limit's refusal: jsonLimited, pageLimited, textLimited.
//
// Anything else is Sesame's own failure: 503 while the database is
// unavailable, otherwise a logged 500 that reveals nothing. A new endpoint
// family adds its writer here; a new Kind adds its status to httpStatus.

type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	URI         string `json:"error_uri,omitempty"`
}

// domainError is what an answer needs of an oauth.Error or a
// passwordless.Error.
type domainError struct {
	Kind        fault.Kind
	Code        string
	Description string
	URI         string
}

// asDomainError finds the domain error in err's chain.
func asDomainError(err error) (domainError, bool) {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		return domainError{Kind: oe.Kind, Code: oe.Code, Description: oe.Description, URI: oe.URI}, true
	}
	var pe *passwordless.Error
	if errors.As(err, &pe) {
		return domainError{Kind: pe.Kind, Code: pe.Code, Description: pe.Description}, true
	}
	return domainError{}, false
}

// httpStatus is the status of a Kind in Auth0's JSON APIs.
func httpStatus(k fault.Kind) int {
	switch k {
	case fault.Invalid:
		return http.StatusBadRequest
	case fault.TooLarge:
		return http.StatusRequestEntityTooLarge
	case fault.Unauthenticated:
		return http.StatusUnauthorized
	case fault.Forbidden, fault.Denied:
		return http.StatusForbidden
	case fault.Blocked:
		return http.StatusTooManyRequests
	case fault.NotFound:
		return http.StatusNotFound
	case fault.Conflict:
		return http.StatusConflict
	default:
		return http.StatusInternalServerError // a Kind without a status here
	}
}

// writeError renders any error in Auth0's JSON shape. Errors that are not
// domain errors are logged and answered with a generic 500 that reveals
// nothing.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if d, ok := asDomainError(err); ok {
		if d.Kind == fault.Unauthenticated && d.Code == "invalid_client" {
			if _, _, basic := r.BasicAuth(); basic {
				w.Header().Set("WWW-Authenticate", `Basic realm="sesame"`)
			}
		}
		writeJSON(w, httpStatus(d.Kind), errorBody{Error: d.Code, Description: d.Description, URI: d.URI})
		return
	}
	if unavailable(r, err) {
		s.Logger.Warn("database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", retryAfter)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "temporarily_unavailable", Description: descUnavailable})
		return
	}
	s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeJSON(w, http.StatusInternalServerError, errorBody{Error: "server_error", Description: "internal error"})
}

// writeVerifyError is writeError for POST /passwordless/verify (spec §3.2):
// a wrong, expired or used-up code is 401 invalid_user_password, with the
// code's own description.
func (s *Server) writeVerifyError(w http.ResponseWriter, r *http.Request, err error) {
	if d, ok := asDomainError(err); ok && d.Kind == fault.Denied {
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "invalid_user_password", Description: d.Description})
		return
	}
	s.writeError(w, r, err)
}

// writeCOError is writeError for POST /co/authenticate (spec §3.3): a
// wrong, expired or used-up code is 403 access_denied, with the code's own
// description.
func (s *Server) writeCOError(w http.ResponseWriter, r *http.Request, err error) {
	if d, ok := asDomainError(err); ok && d.Kind == fault.Denied {
		writeJSON(w, http.StatusForbidden, errorBody{Error: passwordless.CodeAccessDenied, Description: d.Description})
		return
	}
	s.writeError(w, r, err)
}

// sendAuthError sends err to ar's validated redirect_uri as an OAuth error
// (authError); what is no domain error is an error page.
func (s *Server) sendAuthError(w http.ResponseWriter, r *http.Request, ar oauth.AuthRequest, err error) {
	if res, ok := authError(ar, err); ok {
		s.sendAuthResult(w, res)
		return
	}
	s.renderPageError(w, r, err)
}

// authError is the OAuth error a browser route sends to the validated
// redirect_uri of ar for a domain error; false for any other error, which
// renderPageError answers. A Denied code is access_denied there, with the
// code's own description, as Auth0 sends it; every other keeps its code.
func authError(ar oauth.AuthRequest, err error) (oauth.AuthResult, bool) {
	d, ok := asDomainError(err)
	if !ok {
		return oauth.AuthResult{}, false
	}
	code := d.Code
	if d.Kind == fault.Denied {
		code = passwordless.CodeAccessDenied
	}
	return oauth.ErrorResult(ar, code, d.Description), true
}

// renderPageError is the HTML error page of a browser route: a domain
// error's description with its Kind's status, 503 while the database is
// unavailable, else a logged 500.
func (s *Server) renderPageError(w http.ResponseWriter, r *http.Request, err error) {
	if d, ok := asDomainError(err); ok {
		renderError(w, httpStatus(d.Kind), d.Description)
		return
	}
	if unavailable(r, err) {
		s.Logger.Warn("database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", retryAfter)
		renderError(w, http.StatusServiceUnavailable, "Sign-in is unavailable for a moment. Please try again in a few seconds.")
		return
	}
	s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	renderError(w, http.StatusInternalServerError, "Something went wrong. Please try again.")
}

// bearerError refuses a /userinfo request (RFC 6750 §3): plain text, with a
// challenge whose attrs name the error and what more it needs, if anything.
func bearerError(w http.ResponseWriter, status int, attrs string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="sesame"`+attrs)
	http.Error(w, http.StatusText(status), status)
}

// tooManyRequests is Auth0's body for a rate-limited JSON request (spec §6.2).
var tooManyRequests = errorBody{Error: "too_many_requests",
	Description: "Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers."}

// rateLimited answers a request refused by a rate limit, in its endpoint
// family's shape.
type rateLimited func(w http.ResponseWriter)

func jsonLimited(w http.ResponseWriter) { writeJSON(w, http.StatusTooManyRequests, tooManyRequests) }

func pageLimited(w http.ResponseWriter) {
	secureHeaders(w)
	renderError(w, http.StatusTooManyRequests, "Too many attempts from your network. Please wait a little and try again.")
}

func textLimited(w http.ResponseWriter) {
	http.Error(w, "Rate limit exceed", http.StatusTooManyRequests)
}

// descUnavailable is the answer while the database cannot be reached.
const descUnavailable = "The service is temporarily unavailable. Please try again in a few seconds."

// retryAfter is the Retry-After of a 503, in seconds.
const retryAfter = "5"

// unavailable reports whether err means the database could not be reached
// in time: the store said so, or the request's deadline ran out while the
// client still waits. Nothing was done; the same request may succeed later.
func unavailable(r *http.Request, err error) bool {
	return errors.Is(err, store.ErrUnavailable) ||
		(errors.Is(err, context.DeadlineExceeded) && r.Context().Err() != nil)
}

// invalidRequest is OAuth's invalid_request.
func invalidRequest(desc string) *oauth.Error {
	return &oauth.Error{Kind: fault.Invalid, Code: "invalid_request", Description: desc}
}

// startError is a refusal of /passwordless/start's request.
func startError(code, description string) *passwordless.Error {
	return &passwordless.Error{Kind: fault.Invalid, Code: code, Description: description}
}

// truncate keeps error messages that echo input short.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
