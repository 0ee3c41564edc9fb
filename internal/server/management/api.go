package management

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
	"github.com/sesame-id/sesame/internal/token"
	"github.com/sesame-id/sesame/internal/users"
)

// Store is the part of the store the Management API uses.
type Store interface {
	UpdateTenant(ctx context.Context, fn func(*store.TenantState) error) error
	Tenant(ctx context.Context) (store.TenantState, error)
}

// API serves the Management API. Build it with its fields set, then mount
// Handler under /api/v2/.
type API struct {
	// Issuer is the public URL with a trailing slash; the API's audience
	// is Issuer + "api/v2/".
	Issuer string
	Store  Store
	// Live is the tenant in service, reloaded after every write.
	Live *tenant.Live
	// Keys verify the callers' tokens and are rotated by
	// POST /api/v2/keys/signing/rotate.
	Keys *token.Keys
	// Limiter takes one token per request from the calling client's bucket
	// (Limit); nil turns rate limiting off.
	Limiter *ratelimit.Limiter
	Limit   store.Limit
	// Events records tenant log events (api_limit, and sapi/fapi for
	// the calls, see logOperation); nil drops them.
	Events func(context.Context, store.Event) error
	// Logs reads the tenant log for /api/v2/logs.
	Logs Events
	// ClientIP is the caller's address as the server resolves it (its
	// trusted proxies); nil takes the TCP peer's.
	ClientIP func(*http.Request) string
	// Users runs the user and user-block routes.
	Users  *users.Service
	Logger *slog.Logger
	Now    func() time.Time
}

// DefaultLimit is the requests a client may make when API.Limit is zero:
// the --limit-management default.
var DefaultLimit = ratelimit.Defaults().ManagementPerClient

// Audience is the audience a token must have: {issuer}api/v2/.
func (a *API) Audience() string { return a.Issuer + oauth.ManagementAPI }

// Call is what a route's handler gets beside the request: who called, with
// which scopes, and the tenant in service when the call came in (read it
// for checks; a write reads and changes the stored tenant, see
// UpdateTenant).
type Call struct {
	ClientID string   // the calling client, the token's azp
	Scopes   []string // the token's scopes
	Tenant   *tenant.Tenant
}

// HandlerFunc is a route's handler. It writes its answer and returns nil,
// or returns an error and writes nothing: an *Error is answered as it is,
// anything else is logged and answered 500 (503 when the database is
// unavailable).
type HandlerFunc func(w http.ResponseWriter, r *http.Request, c *Call) error

// Router registers routes. Each route checks the caller's token, its rate
// limit and its scope before its handler runs.
type Router struct {
	api *API
	mux *http.ServeMux
}

// Handle registers h for pattern, a net/http ServeMux pattern with its
// method and the whole path ("GET /api/v2/clients/{id}"). A call needs a
// token with any of scopes (Auth0's rule: "Insufficient scope, expected any
// of: …").
func (rt *Router) Handle(pattern string, scopes []string, h HandlerFunc) {
	rt.mux.HandleFunc(pattern, rt.api.serve(scopes, h))
}

// Handler returns the handler of every route, for /api/v2/. A path or
// method no route takes is 404 Not Found, as Auth0 answers it.
func (a *API) Handler() http.Handler {
	if a.Logger == nil {
		a.Logger = slog.New(slog.DiscardHandler)
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Limit.Burst <= 0 || a.Limit.Per <= 0 {
		a.Limit = DefaultLimit
	}
	rt := &Router{api: a, mux: http.NewServeMux()}
	a.routes(rt)
	rt.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { a.writeError(w, r, errNotFound) })
	return rt.mux
}

// serve wraps a route's handler: the token, then the rate limit, then the
// scope.
func (a *API) serve(scopes []string, h HandlerFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		// Every call is logged once answered: sapi, fapi (logOperation).
		w := &statusWriter{ResponseWriter: rw}
		var call *Call
		defer func() {
			if p := recover(); p != nil {
				a.logOperation(r, call, http.StatusInternalServerError)
				panic(p) // for the server's own recovery
			}
			a.logOperation(r, call, w.code())
		}()
		w.Header().Set("Cache-Control", "no-store")
		call, err := a.authenticate(r)
		if err != nil {
			call = nil
			// Refused tokens share one bucket, so that they cannot spend
			// a client's.
			if a.limit(w, r, "mgmt:unauthenticated", "") {
				a.writeError(w, r, err)
			}
			return
		}
		if !a.limit(w, r, "mgmt:client:"+call.ClientID, call.ClientID) {
			return
		}
		if !slices.ContainsFunc(scopes, func(s string) bool { return slices.Contains(call.Scopes, s) }) {
			a.writeError(w, r, InsufficientScope(scopes))
			return
		}
		if err := h(w, r, call); err != nil {
			a.writeError(w, r, err)
		}
	}
}

// limit takes a token from the bucket key and sets Auth0's rate limit
// headers; when the bucket is empty it answers 429 (and records api_limit).
// It reports whether the request may go on.
func (a *API) limit(w http.ResponseWriter, r *http.Request, key, clientID string) bool {
	if a.Limiter == nil {
		return true
	}
	bs, err := a.Limiter.Take(r.Context(), []store.Take{{Key: key, Limit: a.Limit}}, a.Now())
	if err != nil && !errors.Is(err, store.ErrRateLimited) {
		a.writeError(w, r, err)
		return false
	}
	if len(bs) == 1 {
		ratelimit.SetHeaders(w.Header(), a.Limit, bs[0])
	}
	if errors.Is(err, store.ErrRateLimited) {
		if a.Events != nil {
			e := a.caller(r, clientID).Event("api_limit", "Rate limit exceeded: "+truncate(r.URL.Path, maxLoggedPath))
			_ = a.Events(r.Context(), e)
		}
		a.writeError(w, r, errTooManyRequests)
		return false
	}
	return true
}

// tokenLeeway is how far a token's exp and iat may be off, for clocks of
// replicas that drift apart (as token.VerifyAccessToken allows).
const tokenLeeway = 60

// authenticate checks the Bearer token of r: signed by one of our keys with
// the algorithm of that key, issued by us, for the Management API, within
// its lifetime, and got by a client for itself (client_credentials) that the
// tenant still has.
func (a *API) authenticate(r *http.Request) (*Call, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, errMissingAuth
	}
	scheme, raw, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, errBadAuthHeader
	}
	raw = strings.TrimSpace(raw)
	if raw == "" || strings.ContainsAny(raw, " \t") {
		return nil, errBadAuthHeader
	}
	payload, err := a.Keys.Verify(r.Context(), raw)
	if err != nil {
		if strings.Count(raw, ".") == 2 {
			return nil, errInvalidSignature
		}
		return nil, errInvalidToken
	}
	var c token.AccessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, errInvalidToken
	}
	now := a.Now().Unix()
	if c.Issuer != a.Issuer || !c.Audience.Contains(a.Audience()) || c.IssuedAt > now+tokenLeeway {
		return nil, errInvalidToken
	}
	if c.Expiry == 0 || now >= c.Expiry+tokenLeeway {
		return nil, errExpiredToken
	}
	// Only a client's own token, never a user's.
	if c.GrantType != oauth.GrantTypeClaim || c.AZP == "" || c.Subject != c.AZP+oauth.ClientSubjectSuffix {
		return nil, errInvalidToken
	}
	t := a.Live.Current()
	if t == nil || t.Client(c.AZP) == nil {
		return nil, errInvalidToken // the client was deleted
	}
	return &Call{ClientID: c.AZP, Scopes: strings.Fields(c.Scope), Tenant: t}, nil
}
