package server

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// CORS: which other origins may read Sesame's answers in a browser.
//
//   - Discovery and the JWKS are public documents: any origin may read them,
//     without credentials (Access-Control-Allow-Origin: *), so that an
//     application's own JavaScript can verify ID tokens.
//   - The JSON APIs a browser application calls (/passwordless/start,
//     /passwordless/verify, /oauth/token, /oauth/revoke, /userinfo) answer
//     an origin that the client the request names allows
//     (tenant.Client.OriginAllowed), without credentials. A preflight names
//     no client, so it is answered for an origin any client allows; the
//     request itself is then checked against its own client (corsFor), and
//     an origin that client does not allow gets no CORS headers, on errors
//     too, so the browser shows the answer to no one.
//   - POST /co/authenticate answers, with credentials (its cookie), only an
//     origin among the web_origins of a client with cross-origin
//     authentication on; the handler itself refuses any other.
//
// An origin that is not allowed gets no Access-Control-* header at all.

// corsPolicy says which origins may read a route's answers.
type corsPolicy int

const (
	corsPublic      corsPolicy = iota // any origin, no credentials
	corsClients                       // an origin of the named client, no credentials
	corsCrossOrigin                   // a web origin of a cross-origin client, with credentials
)

// corsAllowHeaders are the request headers a preflight may ask for: what
// auth0.js, auth0-spa-js and a bearer token send.
const corsAllowHeaders = "Authorization, Content-Type, Auth0-Client, X-Request-Language"

// corsExposeHeaders are the answer's headers a script may read besides the
// safelisted ones: the rate limits.
const corsExposeHeaders = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"

// corsMaxAge is how long a browser may keep a preflight's answer, in
// seconds: short, so that an origin removed from a client stops working
// soon.
const corsMaxAge = "600"

// cors wraps a route's handler: the answer carries the CORS headers its
// policy gives the request's Origin, whatever the handler answers.
func (s *Server) cors(p corsPolicy, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.setCORS(w, r, p)
		h(w, r)
	}
}

// setCORS sets the headers of an actual (not preflight) request.
func (s *Server) setCORS(w http.ResponseWriter, r *http.Request, p corsPolicy) {
	h := w.Header()
	origin := r.Header.Get("Origin")
	if p == corsPublic {
		if origin != "" {
			h.Set("Access-Control-Allow-Origin", "*")
		}
		return
	}
	h.Add("Vary", "Origin")
	if !s.corsAllowed(p, origin) {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	if p == corsCrossOrigin {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// preflight answers OPTIONS on a route that serves methods: 204, with the
// CORS headers when the Origin may make the request it announces.
func (s *Server) preflight(p corsPolicy, methods ...string) http.HandlerFunc {
	allow := strings.Join(append([]string{http.MethodOptions}, methods...), ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Allow", allow)
		if p != corsPublic {
			h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
		}
		origin := r.Header.Get("Origin")
		method := r.Header.Get("Access-Control-Request-Method")
		if origin != "" && slices.Contains(methods, method) && (p == corsPublic || s.corsAllowed(p, origin)) {
			if p == corsPublic {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			}
			h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
			h.Set("Access-Control-Max-Age", corsMaxAge)
			if p == corsCrossOrigin {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// corsAllowed reports whether some client lets origin make requests under
// p. Sesame's own origin needs no CORS, and gets none.
func (s *Server) corsAllowed(p corsPolicy, origin string) bool {
	if origin == "" || origin == s.origin() {
		return false
	}
	for _, c := range s.Tenant().Clients {
		switch p {
		case corsClients:
			if c.OriginAllowed(origin) {
				return true
			}
		case corsCrossOrigin:
			if c.CrossOriginAuth && c.WebOriginAllowed(origin) {
				return true
			}
		}
	}
	return false
}

// corsFor narrows a corsClients answer to the client the request names:
// when that client does not allow the request's origin (or does not
// exist), the answer loses its CORS headers. A request that names no
// client keeps what the route gave it.
func (s *Server) corsFor(w http.ResponseWriter, r *http.Request, clientID string) {
	if clientID == "" || w.Header().Get("Access-Control-Allow-Origin") == "" {
		return
	}
	if c := s.Tenant().Client(clientID); c == nil || !c.OriginAllowed(r.Header.Get("Origin")) {
		dropCORS(w)
	}
}

// dropCORS removes the CORS headers from an answer.
func dropCORS(w http.ResponseWriter) {
	h := w.Header()
	h.Del("Access-Control-Allow-Origin")
	h.Del("Access-Control-Allow-Credentials")
	h.Del("Access-Control-Expose-Headers")
}

// origin is Sesame's own origin, the issuer's scheme and host.
func (s *Server) origin() string {
	u, err := url.Parse(s.Issuer)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
