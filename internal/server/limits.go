package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/sesame-id/sesame/internal/eventlog"
	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// allow takes a token from the bucket key, sets the rate limit headers, and
// answers the refusal (and logs an api_limit event) when it is empty. It
// reports whether the request may go on.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, key string, lim store.Limit, ip, clientID string, refuse rateLimited) bool {
	if s.Limiter == nil {
		return true
	}
	takes := []store.Take{{Key: key, Limit: lim}}
	bs, err := s.Limiter.Take(r.Context(), takes, s.Now())
	if err != nil && !errors.Is(err, store.ErrRateLimited) {
		s.writeError(w, r, err)
		return false
	}
	return s.taken(w, r, takes, bs, err, ip, clientID, refuse)
}

// taken finishes a request whose tokens a store call took in its own
// transaction (takes, answered by bs): it sets the rate limit headers (the
// first bucket's, or the one that refused), and when err is the refusal
// answers 429 with an api_limit event. It reports whether the request may
// go on; err may still be another failure.
func (s *Server) taken(w http.ResponseWriter, r *http.Request, takes []store.Take, bs []store.Bucket, err error, ip, clientID string, refuse rateLimited) bool {
	if len(bs) == len(takes) && len(bs) > 0 {
		i := 0
		for j, b := range bs {
			if !b.Allowed {
				i = j
				break
			}
		}
		ratelimit.SetHeaders(w.Header(), takes[i].Limit, bs[i])
	}
	if !errors.Is(err, store.ErrRateLimited) {
		return true
	}
	kind := bucketKind(takes, bs)
	s.Metrics.RateLimited(kind)
	s.event(r, store.Event{Type: eventlog.TypeRateLimit, Description: "Rate limit exceeded: " + r.URL.Path, ClientID: clientID, IP: ip,
		Details: eventlog.Details(map[string]any{"path": r.URL.Path, "limit": kind})})
	refuse(w)
	return false
}

// bucketKind names the bucket that refused (its key without the address or
// recipient: "start:rcpt", "verify:ip"), for the api_limit event.
func bucketKind(takes []store.Take, bs []store.Bucket) string {
	for i, b := range bs {
		if !b.Allowed && i < len(takes) {
			parts := strings.SplitN(takes[i].Key, ":", 3)
			return strings.Join(parts[:min(2, len(parts))], ":")
		}
	}
	return ""
}

// codeCheckLimit is the verify bucket of one code check from ip, taken in
// the check's own transaction (one commit instead of two).
type codeCheckLimit struct {
	s       *Server
	ip      string
	takes   []store.Take
	buckets []store.Bucket
	called  bool
}

func (s *Server) codeCheckLimit(ip string) *codeCheckLimit {
	return &codeCheckLimit{s: s, ip: ip, takes: s.takes(store.Take{Key: ratelimit.VerifyIPKey(ip), Limit: s.limits().VerifyPerIP})}
}

// takes is ts, or nothing when the server has no limiter.
func (s *Server) takes(ts ...store.Take) []store.Take {
	if s.Limiter == nil {
		return nil
	}
	return ts
}

// Taken receives the buckets from the check.
func (c *codeCheckLimit) Taken(bs []store.Bucket) { c.called, c.buckets = true, bs }

// done finishes the request's rate limit after the check: when the check
// took the token, it sets the headers and answers a refusal; when the
// request failed before the check, it takes the token now, on its own, so
// that failures count too. It reports whether the request may go on.
func (c *codeCheckLimit) done(w http.ResponseWriter, r *http.Request, err error, clientID string, refuse rateLimited) bool {
	if c.s.Limiter == nil {
		return true
	}
	if c.called {
		return c.s.taken(w, r, c.takes, c.buckets, err, c.ip, clientID, refuse)
	}
	return c.s.allow(w, r, c.takes[0].Key, c.takes[0].Limit, c.ip, clientID, refuse)
}

// event records a tenant log event, with the request's user agent unless
// e has one; a failure to record is logged by the recorder, never answered.
func (s *Server) event(r *http.Request, e store.Event) {
	if s.Events == nil {
		return
	}
	if e.UserAgent == "" {
		e.UserAgent = userAgent(r)
	}
	_ = s.Events(r.Context(), e)
}

// caller is who makes r, for the tenant log: client (when known), IP and
// user agent.
func (s *Server) caller(r *http.Request, client *tenant.Client, ip string) eventlog.Caller {
	c := eventlog.Caller{IP: ip, UserAgent: userAgent(r)}
	if client != nil {
		c.ClientID, c.ClientName = client.ClientID, client.Name
	}
	return c
}

// userAgent is r's User-Agent as the tenant log keeps it (at most 256
// bytes).
func userAgent(r *http.Request) string { return truncate(r.UserAgent(), 256) }

// limits are the configured limits (none without a limiter).
func (s *Server) limits() ratelimit.Settings {
	if s.Limiter == nil {
		return ratelimit.Settings{}
	}
	return s.Limiter.Settings
}
