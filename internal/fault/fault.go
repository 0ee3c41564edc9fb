// Package fault names the kinds of domain errors. A domain error
// (oauth.Error, passwordless.Error) carries a Kind next to Auth0's code and
// description: the domain says what went wrong, and internal/server alone
// decides what each endpoint family answers for it (errors.go there).
package fault

// Kind is the class of a domain error. The zero Kind is Invalid.
type Kind int

const (
	// Invalid: the request is malformed, or names what does not exist
	// (a JSON API answers 400).
	Invalid Kind = iota
	// TooLarge: the request body is over the limit (413).
	TooLarge
	// Unauthenticated: the client did not prove who it is (401).
	Unauthenticated
	// Forbidden: the client or the user may not do this: a grant or
	// connection not enabled, signup disabled, an unknown audience (403).
	Forbidden
	// Denied: the grant presented (a one-time code, a refresh token, an
	// authorization code) is wrong, expired, used up or no longer good:
	// OAuth's invalid_grant (403 at the token endpoint, 401 at
	// /passwordless/verify, access_denied to a redirect_uri).
	Denied
	// Blocked: attack protection refuses the user or the address for a
	// while (429).
	Blocked
	// NotFound: what the request names does not exist where a missing
	// object is its own answer (the Management API's 404).
	NotFound
	// Conflict: the request would make what exists already, such as a
	// second user with one identifier (the Management API's 409).
	Conflict
)

var names = [...]string{"invalid", "too large", "unauthenticated", "forbidden", "denied", "blocked", "not found", "conflict"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(names) {
		return names[k]
	}
	return "unknown"
}
