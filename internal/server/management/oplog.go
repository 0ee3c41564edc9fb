package management

import (
	"net"
	"net/http"
	"unicode/utf8"

	"github.com/sesame-id/sesame/internal/eventlog"
)

// The tenant log of the Management API's own calls: sapi for a write that
// succeeded, fapi for any call that failed (a refused token, a missing
// scope, a rate limit, an unknown object, a bad body), as Auth0 logs them;
// no event for a read that succeeded. An event names the calling client
// (when its token was good), the caller's address and user agent, the
// method, the path and the status: never the query, the body, the token or
// an answer (a new client secret stays out of the log).

// maxLoggedPath is the most of a path an event keeps.
const maxLoggedPath = 256

// logOperation records the call r answered with status; call is nil when
// the token was refused.
func (a *API) logOperation(r *http.Request, call *Call, status int) {
	if a.Events == nil {
		return
	}
	clientID := ""
	if call != nil {
		clientID = call.ClientID
	}
	c := a.caller(r, clientID)
	e, ok := eventlog.APIOperation(c, r.Method, truncate(r.URL.Path, maxLoggedPath), status)
	if !ok {
		return
	}
	_ = a.Events(r.Context(), e)
}

// caller is who made r, for the tenant log.
func (a *API) caller(r *http.Request, clientID string) eventlog.Caller {
	c := eventlog.Caller{ClientID: clientID, UserAgent: truncate(r.UserAgent(), 256)}
	if clientID != "" && a.Live != nil {
		if t := a.Live.Current(); t != nil {
			if cl := t.Client(clientID); cl != nil {
				c.ClientName = cl.Name
			}
		}
	}
	if a.ClientIP != nil {
		c.IP = a.ClientIP(r)
	} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.IP = host
	} else {
		c.IP = r.RemoteAddr
	}
	return c
}

// truncate cuts s to at most n bytes, on a rune boundary, and makes it
// valid UTF-8.
func truncate(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return string([]rune(s)) // invalid bytes become U+FFFD
}

// statusWriter remembers the status of the answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// code is the status sent, 200 when nothing was written (net/http's).
func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
