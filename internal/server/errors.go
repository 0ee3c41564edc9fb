package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/store"
)

type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	URI         string `json:"error_uri,omitempty"`
}

// writeError renders any error in Auth0's shape. Errors that are not domain
// errors are logged and answered with a generic 500 that reveals nothing.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		if oe.Status == http.StatusUnauthorized && oe.Code == "invalid_client" {
			if _, _, basic := r.BasicAuth(); basic {
				w.Header().Set("WWW-Authenticate", `Basic realm="sesame"`)
			}
		}
		writeJSON(w, oe.Status, errorBody{Error: oe.Code, Description: oe.Description, URI: oe.URI})
		return
	}
	var pe *passwordless.Error
	if errors.As(err, &pe) {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: pe.Code, Description: pe.Description})
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

func (s *Server) renderInternalError(w http.ResponseWriter, r *http.Request, err error) {
	if unavailable(r, err) {
		s.Logger.Warn("database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", retryAfter)
		renderError(w, http.StatusServiceUnavailable, "Sign-in is unavailable for a moment. Please try again in a few seconds.")
		return
	}
	s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	renderError(w, http.StatusInternalServerError, "Something went wrong. Please try again.")
}

func invalidRequest(desc string) *oauth.Error {
	return &oauth.Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: desc}
}

func startError(code, description string) *passwordless.Error {
	return &passwordless.Error{Code: code, Description: description}
}

// truncate keeps error messages that echo input short.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
