package management

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/sesame-id/sesame/internal/store"
)

// Error is an answer in the Management API's error shape:
// {"statusCode":404,"error":"Not Found","message":"The client does not
// exist","errorCode":"inexistent_client"}. A handler returns one; the API
// writes it. Messages never quote a secret or a token.
type Error struct {
	Status  int    // HTTP status; "error" is its text
	Message string // Auth0's message where known
	Code    string // errorCode; "" leaves it out, as Auth0 does for some
	// Attributes adds "attributes":{"error":Message}, as Auth0 answers a
	// token it refuses.
	Attributes bool
}

func (e *Error) Error() string { return http.StatusText(e.Status) + ": " + e.Message }

// NewError returns an Error with status, Auth0's errorCode (or "") and
// message.
func NewError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Errors whose strings are Auth0's.
var (
	errMissingAuth      = &Error{Status: http.StatusUnauthorized, Message: "Missing authentication"}
	errBadAuthHeader    = &Error{Status: http.StatusUnauthorized, Message: "Bad HTTP authentication header format", Attributes: true}
	errInvalidToken     = &Error{Status: http.StatusUnauthorized, Message: "Invalid token", Attributes: true}
	errInvalidSignature = &Error{Status: http.StatusUnauthorized, Message: "Invalid signature received for JSON Web Token validation", Attributes: true}
	errExpiredToken     = &Error{Status: http.StatusUnauthorized, Message: "Expired token received for JSON Web Token validation", Attributes: true}
	errTooManyRequests  = &Error{Status: http.StatusTooManyRequests, Code: "too_many_requests",
		Message: "Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers."}
	errNotFound = &Error{Status: http.StatusNotFound, Message: "Not Found"}
)

// InvalidBody is a body that does not pass validation: 400 invalid_body,
// "Payload validation error: " and what is wrong.
func InvalidBody(problem string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_body", Message: "Payload validation error: " + problem}
}

// InvalidQuery is a query string that does not pass validation: 400
// invalid_query_string.
func InvalidQuery(problem string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_query_string", Message: "Query validation error: " + problem}
}

// InsufficientScope refuses a token that has none of the scopes a route
// takes.
func InsufficientScope(scopes []string) *Error {
	msg := "Insufficient scope, expected any of: "
	for i, s := range scopes {
		if i > 0 {
			msg += ","
		}
		msg += s
	}
	return &Error{Status: http.StatusForbidden, Code: "insufficient_scope", Message: msg}
}

// Conflict is a write that would give two objects the same name: 409.
func Conflict(message string) *Error {
	return &Error{Status: http.StatusConflict, Message: message}
}

type errorBody struct {
	StatusCode int               `json:"statusCode"`
	Error      string            `json:"error"`
	Message    string            `json:"message"`
	ErrorCode  string            `json:"errorCode,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// writeError answers err in the Management API's shape: an *Error as it
// is; a database that cannot be reached in time 503; anything else is
// logged and answered 500 without a word of what failed.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, store.ErrUnavailable),
		errors.Is(err, context.DeadlineExceeded) && r.Context().Err() != nil:
		a.Logger.Warn("database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		e = &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
			Message: "The service is temporarily unavailable. Please try again in a few seconds."}
	default:
		a.Logger.Error("management request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &Error{Status: http.StatusInternalServerError, Message: "An internal server error occurred"}
	}
	body := errorBody{StatusCode: e.Status, Error: http.StatusText(e.Status), Message: e.Message, ErrorCode: e.Code}
	if e.Attributes {
		body.Attributes = map[string]string{"error": e.Message}
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sesame"`)
	}
	WriteJSON(w, e.Status, body)
}

// WriteJSON writes v as the JSON answer with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"statusCode":500,"error":"Internal Server Error","message":"An internal server error occurred"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
