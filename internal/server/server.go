// Package server is Sesame's HTTP layer: it decodes requests, authenticates
// clients, resolves the caller's IP and turns domain errors into Auth0's
// status codes and JSON error shapes. It is the only package that knows
// about HTTP status codes for domain errors.
package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/sesame-id/sesame/internal/login"
	"github.com/sesame-id/sesame/internal/metrics"
	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
	"github.com/sesame-id/sesame/internal/token"
)

// MaxBodyBytes is the largest request body any endpoint reads.
const MaxBodyBytes = 64 << 10

// Server serves Sesame's HTTP API.
type Server struct {
	Issuer       string // public URL with a trailing slash
	Passwordless *passwordless.Service
	OAuth        *oauth.Server
	// Sessions are the browsers' login sessions (the cookie and its row).
	Sessions *oauth.Sessions
	// LoginTx seals the hosted page's login transactions and LoginCSRF
	// makes its forms' tokens; both keys are shared by every replica.
	LoginTx   *login.TxSealer
	LoginCSRF login.CSRF
	Keys      *token.Keys
	Logger    *slog.Logger
	Now       func() time.Time
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Limiter enforces the rate limits; nil turns them off.
	Limiter *ratelimit.Limiter
	// Events records tenant log events; nil drops them.
	Events func(context.Context, store.Event) error
	// Ready reports whether the database answers and is migrated
	// (GET /readyz); nil reports ready.
	Ready func(context.Context) error
	// RequestTimeout bounds the work of one request (its context's
	// deadline), so that a database that stopped answering gives a 503
	// before the client gives up; 0 sets none.
	RequestTimeout time.Duration
	// Live holds the tenant in service, shared with the rest of the
	// process, which reloads it.
	Live *tenant.Live
	// Management serves the Management API under /api/v2/
	// (server/management); nil serves none there.
	Management http.Handler
	// Metrics counts requests (by route pattern and status), rate-limit
	// rejections and the rest; nil counts nothing.
	Metrics *metrics.Metrics
	// ServeMetrics serves Metrics on GET /metrics of this handler (off
	// when they are served on a listener of their own).
	ServeMetrics bool
}

// Tenant returns the tenant in service. A handler reads it once and works
// from that one throughout, so that a reload mid-request changes nothing
// under it.
func (s *Server) Tenant() *tenant.Tenant { return s.Live.Current() }

// Handler returns the HTTP handler with every route and the common
// middleware (panic recovery, body limit, access log).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	// The routes a browser application calls from its own origin answer
	// CORS (cors.go), preflights included.
	for _, rt := range []struct {
		pattern string
		policy  corsPolicy
		handle  http.HandlerFunc
	}{
		{"POST /passwordless/start", corsClients, s.handleStart},
		{"POST /passwordless/verify", corsClients, s.handleVerify},
		{"POST /oauth/token", corsClients, s.handleToken},
		{"POST /oauth/revoke", corsClients, s.handleRevoke},
		{"GET /userinfo", corsClients, s.handleUserInfo},
		{"POST /userinfo", corsClients, s.handleUserInfo},
		{"POST /co/authenticate", corsCrossOrigin, s.handleCrossOriginAuthenticate},
		{"GET /.well-known/openid-configuration", corsPublic, s.handleDiscovery},
		{"GET /.well-known/jwks.json", corsPublic, s.handleJWKS},
	} {
		mux.HandleFunc(rt.pattern, s.cors(rt.policy, rt.handle))
	}
	for _, pf := range []struct {
		path    string
		policy  corsPolicy
		methods []string
	}{
		{"/passwordless/start", corsClients, []string{http.MethodPost}},
		{"/passwordless/verify", corsClients, []string{http.MethodPost}},
		{"/oauth/token", corsClients, []string{http.MethodPost}},
		{"/oauth/revoke", corsClients, []string{http.MethodPost}},
		{"/userinfo", corsClients, []string{http.MethodGet, http.MethodPost}},
		{"/co/authenticate", corsCrossOrigin, []string{http.MethodPost}},
		{"/.well-known/openid-configuration", corsPublic, []string{http.MethodGet}},
		{"/.well-known/jwks.json", corsPublic, []string{http.MethodGet}},
	} {
		mux.HandleFunc("OPTIONS "+pf.path, s.preflight(pf.policy, pf.methods...))
	}
	mux.HandleFunc("GET /passwordless/verify_redirect", s.handleVerifyRedirectGet)
	mux.HandleFunc("POST /passwordless/verify_redirect", s.handleVerifyRedirectPost)
	mux.HandleFunc("POST /co/verify", s.handleCrossOriginVerify)
	mux.HandleFunc("GET /v2/logout", s.handleLogout)
	mux.HandleFunc("GET /oidc/logout", s.handleOIDCLogout)
	mux.HandleFunc("POST /oidc/logout", s.handleOIDCLogout)
	mux.HandleFunc("GET /authorize", s.handleAuthorize)
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("POST /login/connection", s.handleLoginConnection)
	mux.HandleFunc("POST /login/identifier", s.handleLoginIdentifier)
	mux.HandleFunc("POST /login/code", s.handleLoginCode)
	mux.HandleFunc("POST /login/resend", s.handleLoginResend)
	// /healthz: the process is alive (/health, its older name, stays).
	// /readyz: it can serve, the database answering and migrated.
	mux.HandleFunc("GET /apple-app-site-association", s.handleAppleAppSiteAssociation)
	mux.HandleFunc("GET /.well-known/apple-app-site-association", s.handleAppleAppSiteAssociation)
	mux.HandleFunc("GET /.well-known/assetlinks.json", s.handleAssetLinks)
	mux.HandleFunc("GET /healthz", handleAlive)
	mux.HandleFunc("GET /health", handleAlive)
	mux.HandleFunc("GET /readyz", s.handleReady)
	if s.ServeMetrics && s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics.Handler())
	}
	if s.Management != nil {
		// Every method and path under /api/v2/, its unknown ones included,
		// is the Management API's to answer, in its own error shape.
		mux.Handle("/api/v2/", s.Management)
	}
	// "/" matches every path and method no other pattern matches, so
	// ServeMux never answers 404 or 405 in plain text itself.
	mux.HandleFunc("/", noRoute(mux))
	// The pattern ServeMux matched, for the access log's and the metrics'
	// route, read from the request it was given (a copy of the
	// middleware's: a timeout's context, a stripped prefix); deferred, so
	// that a handler's panic (answered 500 by the middleware) keeps it too.
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if info, _ := r.Context().Value(reqInfoKey{}).(*reqInfo); info != nil {
				info.route = r.Pattern
			}
		}()
		mux.ServeHTTP(w, r)
	})
	routed := h
	u, err := url.Parse(s.Issuer)
	if err != nil {
		u = &url.URL{}
	}
	// An issuer with a path (https://example.com/auth/) serves under it,
	// and nothing outside it.
	if prefix := strings.TrimSuffix(u.Path, "/"); prefix != "" {
		strip := http.StripPrefix(prefix, routed)
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, prefix+"/") || r.URL.RawPath != "" && !strings.HasPrefix(r.URL.RawPath, prefix+"/") {
				notFound(w)
				return
			}
			strip.ServeHTTP(w, r)
		})
	}
	return s.middleware(h, u.Scheme == "https")
}

// probeMethods are the methods tried when a path's Allow header is worked
// out (a GET pattern serves HEAD too).
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// noRoute answers a request that no route of mux takes, in Auth0's JSON
// error shape: 405 with an Allow header when the path has routes for other
// methods (OPTIONS included, where the path answers no preflight), else 404.
func noRoute(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range probeMethods {
			probe := *r
			probe.Method = m
			if _, pattern := mux.Handler(&probe); pattern != "/" && pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			notFound(w)
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method_not_allowed",
			Description: "This endpoint does not accept " + truncate(r.Method, 16) + "; use " + strings.Join(allow, " or ")})
	}
}

// notFound answers a path that is no endpoint.
func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, errorBody{Error: "not_found", Description: "Not Found"})
}

// hstsValue is the Strict-Transport-Security of an https issuer: a year, and
// the issuer's subdomains too.
const hstsValue = "max-age=31536000; includeSubDomains"

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// middleware wraps every request: panic recovery, body limit, access log,
// and with hsts (an https issuer) Strict-Transport-Security on every
// answer, errors included.
func (s *Server) middleware(next http.Handler, hsts bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if hsts {
			w.Header().Set("Strict-Transport-Security", hstsValue)
		}
		rec := &statusRecorder{ResponseWriter: w}
		r.Body = http.MaxBytesReader(rec, r.Body, MaxBodyBytes)
		info := &reqInfo{id: newRequestID()}
		r = withReqInfo(r, info)
		w.Header().Set("X-Request-Id", info.id)
		// A server span, child of the caller's traceparent if it sent one;
		// named and labelled with the route once it is known.
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
		r = r.WithContext(ctx)
		defer func() {
			span.SetName(strings.TrimSpace(r.Method + " " + strings.TrimPrefix(info.route, r.Method+" ")))
			span.SetAttributes(attribute.String("http.request.method", r.Method), attribute.String("http.route", info.route),
				attribute.Int("http.response.status_code", rec.status), attribute.String("sesame.request_id", info.id))
			if info.connection != "" {
				span.SetAttributes(attribute.String("sesame.connection", info.connection))
			}
			if rec.status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(rec.status))
			}
			span.End()
		}()
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.Error("panic serving request", "request_id", info.id, "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeJSON(rec, http.StatusInternalServerError, errorBody{Error: "server_error", Description: "internal error"})
				}
			}
			if s.Metrics != nil {
				route := info.route
				if route == "" || route == "/" {
					route = "unmatched" // a 404 or 405, whatever its path
				}
				status := rec.status
				if status == 0 {
					status = http.StatusOK // net/http answers 200 for a handler that wrote nothing
				}
				s.Metrics.Request(route, status, time.Since(start))
			}
			// The path only: query strings may carry codes and tokens.
			attrs := []slog.Attr{slog.String("request_id", info.id), slog.String("method", r.Method),
				slog.String("route", info.route), slog.String("path", r.URL.Path), slog.Int("status", rec.status),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000), slog.String("ip", s.callerIP(r))}
			if info.clientID != "" {
				attrs = append(attrs, slog.String("client_id", info.clientID))
			}
			if info.connection != "" {
				attrs = append(attrs, slog.String("connection", info.connection))
			}
			s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		}()
		if s.RequestTimeout > 0 {
			ctx, cancel := context.WithTimeout(r.Context(), s.RequestTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		if r.RequestURI == "*" {
			// OPTIONS * names no resource; ServeMux would answer a bare 400.
			notFound(rec)
			return
		}
		next.ServeHTTP(rec, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"server_error","error_description":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// noStore marks a response that carries tokens or secrets.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}
