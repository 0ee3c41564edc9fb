package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/store"
)

// TestHTTPStatus_EveryKindHasOne protects the rule that a new fault.Kind
// gets its status in httpStatus, not the 500 of an unmapped one.
func TestHTTPStatus_EveryKindHasOne(t *testing.T) {
	for k := fault.Kind(0); k.String() != "unknown"; k++ {
		if got := httpStatus(k); got == http.StatusInternalServerError {
			t.Errorf("httpStatus(%v) = 500: the Kind has no status", k)
		}
	}
}

// TestWriteError_WireShapes pins what the JSON families answer for each kind
// of error, the shapes Auth0's SDKs read.
func TestWriteError_WireShapes(t *testing.T) {
	denied := &passwordless.Error{Kind: fault.Denied, Code: passwordless.CodeInvalidGrant, Description: passwordless.DescCodeExpired}
	blocked := &passwordless.Error{Kind: fault.Blocked, Code: passwordless.CodeTooManyAttempts, Description: "blocked"}
	s := &Server{Logger: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct {
		name   string
		write  func(http.ResponseWriter, *http.Request, error)
		err    error
		basic  bool
		status int
		body   string
		header string // WWW-Authenticate or Retry-After
	}{
		{"invalid request", s.writeError, invalidRequest("x"), false, 400, `{"error":"invalid_request","error_description":"x"}`, ""},
		{"start refusal", s.writeError, startError("bad.connection", "y"), false, 400, `{"error":"bad.connection","error_description":"y"}`, ""},
		{"start body too large", s.writeError, errBodyTooLarge, false, 413, `{"error":"bad.request","error_description":"the request body is too large"}`, ""},
		{"client auth, Basic", s.writeError, errClientAuth, true, 401, `{"error":"invalid_client","error_description":"Client authentication failed"}`, `Basic realm="sesame"`},
		{"client auth, body", s.writeError, errClientAuth, false, 401, `{"error":"invalid_client","error_description":"Client authentication failed"}`, ""},
		{"grant with a URI", s.writeError, &oauth.Error{Kind: fault.Forbidden, Code: "unauthorized_client", Description: "z", URI: grantErrorURI}, false, 403,
			`{"error":"unauthorized_client","error_description":"z","error_uri":"` + grantErrorURI + `"}`, ""},
		{"wrong code at the token endpoint", s.writeError, denied, false, 403, `{"error":"invalid_grant","error_description":"` + passwordless.DescCodeExpired + `"}`, ""},
		{"wrong code at verify", s.writeVerifyError, denied, false, 401, `{"error":"invalid_user_password","error_description":"` + passwordless.DescCodeExpired + `"}`, ""},
		{"blocked at verify", s.writeVerifyError, blocked, false, 429, `{"error":"too_many_attempts","error_description":"blocked"}`, ""},
		{"database away", s.writeError, fmt.Errorf("x: %w", store.ErrUnavailable), false, 503, `{"error":"temporarily_unavailable","error_description":"` + descUnavailable + `"}`, retryAfter},
		{"anything else", s.writeError, errors.New("boom"), false, 500, `{"error":"server_error","error_description":"internal error"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
			if tc.basic {
				r.SetBasicAuth("id", "secret")
			}
			w := httptest.NewRecorder()
			tc.write(w, r, tc.err)
			if w.Code != tc.status || strings.TrimSpace(w.Body.String()) != tc.body {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tc.status, tc.body)
			}
			if h := w.Header().Get("WWW-Authenticate") + w.Header().Get("Retry-After"); h != tc.header {
				t.Errorf("header %q, want %q", h, tc.header)
			}
		})
	}
}

// TestAuthError_DeniedCodeIsAccessDenied pins what a browser route sends to
// the redirect_uri.
func TestAuthError_DeniedCodeIsAccessDenied(t *testing.T) {
	ar := oauth.AuthRequest{RedirectURI: "https://app.example/cb", ResponseType: "code", State: "s"}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&passwordless.Error{Kind: fault.Denied, Code: passwordless.CodeInvalidGrant, Description: "d"}, "access_denied"},
		{&passwordless.Error{Kind: fault.Blocked, Code: passwordless.CodeTooManyAttempts, Description: "d"}, "too_many_attempts"},
		{&oauth.Error{Kind: fault.Invalid, Code: "invalid_request", Description: "d"}, "invalid_request"},
	} {
		res, ok := authError(ar, tc.err)
		if !ok || res.Params.Get("error") != tc.want || res.Params.Get("state") != "s" || res.Mode != "query" {
			t.Errorf("authError(%v) = %+v, %v; want error=%s", tc.err, res, ok, tc.want)
		}
	}
	if _, ok := authError(ar, errors.New("boom")); ok {
		t.Error("authError sent a failure of Sesame's own to the redirect_uri")
	}
}
