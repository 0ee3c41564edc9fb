// Package eventlog records the tenant log: Auth0's log event types, the
// log_id format, and a recorder that writes events in batches off the
// request path.
//
// Where a request already runs a write transaction that knows the outcome
// (a passwordless start, a code check and its login), its event is added in
// that transaction (store.Store.CreateCode, store.Guard.Log). Every other
// event goes through a Recorder: queued in memory (bounded) and written by
// one goroutine, each batch in one transaction, so that recording adds no
// transaction and no wait to a request. The price is that a crash loses
// what was queued (at most the buffer), and a full buffer drops events
// (each drop is logged).
//
// An event never holds a code, a secret, a token, a magic link or a request
// body: only who (client, connection, user), from where (IP, user agent),
// what happened (type, description) and a few details that name a grant, a
// prompt or an error code.
package eventlog

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// Auth0's log event type codes that Sesame emits
// (https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes).
const (
	TypeCodeLinkSent        = "cls"      // Code/Link Sent: a magic link (with its code) was queued
	TypeCodeSent            = "cs"       // Code Sent: an email or SMS code was queued or sent
	TypeSuccessLogin        = "s"        // Success Login
	TypeFailedLogin         = "f"        // Failed Login
	TypeSuccessSignup       = "ss"       // Success Signup: a login created its user
	TypeFailedSignup        = "fs"       // Failed Signup: disable_signup refused a new user
	TypeFailedOTPExchange   = "fepotpft" // Failed exchange of Passwordless OTP for Access Token
	TypeSuccessCodeExchange = "seacft"   // Success exchange of Authorization Code for Access Token
	TypeFailedCodeExchange  = "feacft"   // Failed exchange of Authorization Code for Access Token
	TypeSuccessRefresh      = "sertft"   // Success exchange of Refresh Token for Access Token
	TypeFailedRefresh       = "fertft"   // Failed exchange of Refresh Token for Access Token
	TypeFailedRotatingReuse = "ferrt"    // Failed exchange of Rotating Refresh Token (reuse detected)
	TypeSuccessRevocation   = "srrt"     // Successfully revoked a refresh token
	TypeSuccessCCExchange   = "seccft"   // Success exchange of Access Token for a Client Credentials Grant
	TypeFailedCCExchange    = "feccft"   // Failed exchange of Access Token for a Client Credentials Grant
	TypeFailedNotification  = "fn"       // Failed Sending Notification: the outbox gave up on a message
	TypeBlockedAccount      = "limit_wc" // An IP blocked for one account (or an account locked)
	TypeBlockedIP           = "limit_mu" // An IP blocked for every account
	TypeBlockReleased       = "ublkdu"   // User login block released
	TypeRateLimit           = "api_limit"
	TypeSuccessCrossOrigin  = "scoa" // Success cross-origin authentication
	TypeFailedCrossOrigin   = "fcoa" // Failed cross-origin authentication
	TypeFailedCORS          = "fco"  // Failed by CORS
	TypeSuccessLogout       = "slo"  // Success Logout
	TypeSuccessAPIOperation = "sapi" // Success Management API write operation
	TypeFailedAPIOperation  = "fapi" // Failed Management API operation
)

// Details encodes a small JSON object for Event.Details; nil for none. It
// must only ever be given names of things (a grant, a prompt, an error
// code), never a value the caller sent.
func Details(kv map[string]any) []byte {
	if len(kv) == 0 {
		return nil
	}
	b, err := json.Marshal(kv)
	if err != nil {
		return nil // only ever given strings, numbers and booleans
	}
	return b
}

// ids keeps the log_ids of this process in strictly increasing order.
var ids struct {
	sync.Mutex
	ms  int64
	seq int64
}

// NewID returns a log_id for an event at t, in Auth0's shape: 56 decimal
// digits, "900", the UTC time to the millisecond (YYYYMMDDhhmmssSSS), a
// 6-digit sequence and 30 random digits. IDs sort as their times do, so
// that checkpoint paging (from=<log_id>) reads events in the order they
// happened; within one millisecond this process's IDs sort in the order
// they were made (the sequence), and another replica's sort among them by
// chance. An event that commits later than one with a greater ID (another
// replica's, or a slow transaction) can be missed by a reader that already
// went past that ID, as with Auth0.
func NewID(t time.Time) (string, error) {
	t = t.UTC()
	ms := t.UnixMilli()
	ids.Lock()
	switch {
	case ms > ids.ms:
		ids.ms, ids.seq = ms, 0
	default:
		// The same millisecond, or a clock that went back: stay after
		// the last ID made.
		ms = ids.ms
		ids.seq++
		if ids.seq > 999999 {
			ids.ms++
			ms, ids.seq = ids.ms, 0
		}
	}
	seq := ids.seq
	ids.Unlock()
	n, err := rand.Int(rand.Reader, tenTo30)
	if err != nil {
		return "", fmt.Errorf("eventlog: id: %w", err)
	}
	at := time.UnixMilli(ms).UTC()
	return fmt.Sprintf("900%s%03d%06d%030d", at.Format("20060102150405"), at.Nanosecond()/1e6, seq, n), nil
}

var tenTo30 = new(big.Int).Exp(big.NewInt(10), big.NewInt(30), nil)

// Stamp gives e an ID and a time (now) when it has none.
func Stamp(e *store.Event, now time.Time) error {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	if e.ID == "" {
		id, err := NewID(e.CreatedAt)
		if err != nil {
			return err
		}
		e.ID = id
	}
	return nil
}

// Caller is who made a request and from where; its Event fills those fields.
type Caller struct {
	ClientID   string
	ClientName string
	IP         string
	UserAgent  string
}

// Event is an event of type typ made by c.
func (c Caller) Event(typ, description string) store.Event {
	return store.Event{Type: typ, Description: description, ClientID: c.ClientID, ClientName: c.ClientName,
		IP: c.IP, UserAgent: c.UserAgent}
}

// APIOperation is the event of one Management API call by c (the client of
// its access token) answered with status: sapi for a write that succeeded,
// fapi for any call that failed. Auth0 logs no successful read (ok is false
// then: nothing to record). The path is the route without its query (a
// query may hold an identifier or a search, never wanted in the log).
func APIOperation(c Caller, method, path string, status int) (e store.Event, ok bool) {
	failed := status >= 400
	if !failed && (method == "GET" || method == "HEAD" || method == "OPTIONS") {
		return store.Event{}, false
	}
	typ, desc := TypeSuccessAPIOperation, apiVerb(method)+" "+path
	if failed {
		typ = TypeFailedAPIOperation
		desc = fmt.Sprintf("%s (%d)", desc, status)
	}
	e = c.Event(typ, desc)
	e.Details = Details(map[string]any{"request": map[string]any{"method": method, "path": path},
		"response": map[string]any{"statusCode": status}})
	return e, true
}

func apiVerb(method string) string {
	switch method {
	case "POST":
		return "Create"
	case "PATCH", "PUT":
		return "Update"
	case "DELETE":
		return "Delete"
	default:
		return "Read"
	}
}

// ClientCredentials is the event of a client_credentials grant by c for
// audience: seccft when errorCode is empty, else feccft with the error's
// code and description (the words the token endpoint answered).
func ClientCredentials(c Caller, audience, errorCode, errorDescription string) store.Event {
	details := map[string]any{"grant_type": "client_credentials", "audience": audience}
	if errorCode == "" {
		e := c.Event(TypeSuccessCCExchange, "")
		e.Details = Details(details)
		return e
	}
	details["error"] = errorCode
	e := c.Event(TypeFailedCCExchange, errorDescription)
	e.Details = Details(details)
	return e
}

// BlockReleased is the event (ublkdu) of the blocks of identifier (a
// canonical email or phone number, or an address: a suspicious-IP block)
// that c released, n of them, through by (the command or the API route).
func BlockReleased(c Caller, identifier string, n int, by string) store.Event {
	e := c.Event(TypeBlockReleased, "User login block released")
	e.Details = Details(map[string]any{"released_by": by, "blocks": n})
	if _, err := netip.ParseAddr(identifier); err == nil || strings.Contains(identifier, "/") {
		e.Details = Details(map[string]any{"released_by": by, "blocks": n, "blocked_ip": identifier})
	} else {
		e.Identifier = identifier
	}
	return e
}
