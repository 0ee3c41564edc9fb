package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/sesame-id/sesame/internal/eventlog"
	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// Cross-origin authentication (auth0.js passwordlessLogin from an
// application's own origin): POST /co/authenticate checks the code exactly
// as the OTP grant does and answers a login ticket, a verifier and the
// verifier's id; the browser then goes to /authorize with the ticket, which
// logs the user in once. The ticket alone is not enough: the browser that
// asked for it must also show the verifier, from the cookie
// /co/authenticate set (TicketCookie) or, where third-party cookies are
// blocked, from the application's cross-origin verification page, which
// reads it from the application's own storage.

// LoginTicketLifetime is how long a login ticket can be redeemed.
const LoginTicketLifetime = 5 * time.Minute

// TicketCookiePrefix starts the name of the cookie that carries a ticket's
// verifier; the ticket's id ends it, so that logins in two tabs do not
// overwrite each other's cookie.
const TicketCookiePrefix = "sesame_co_"

// Ticket is what POST /co/authenticate answers: the ticket for /authorize,
// and the verifier the same browser must show with it, under the id
// auth0.js keys it by (co_id).
type Ticket struct {
	Value    string `json:"login_ticket"`
	Verifier string `json:"co_verifier"`
	ID       string `json:"co_id"`
	UserID   string `json:"-"` // whom it logs in
}

// CrossOriginRequest is a /co/authenticate request whose client and origin
// were checked.
type CrossOriginRequest struct {
	Tenant   *tenant.Tenant
	Client   *tenant.Client
	Realm    string
	Username string
	OTP      string
	IP       string
	// UserAgent is the caller's, for the tenant log.
	UserAgent string
	// Takes and Taken are passed to the code check (passwordless.VerifyRequest).
	Takes []store.Take
	Taken func([]store.Bucket)
}

// CrossOriginLogin checks the code as the OTP grant does (the same
// passwordless.Verify, the same rate limit and brute-force counts), and
// issues a login ticket for the user it logs in.
func (s *Server) CrossOriginLogin(ctx context.Context, req CrossOriginRequest) (Ticket, error) {
	conn := req.Tenant.Connection(req.Realm)
	if conn == nil || (conn.Strategy != "email" && conn.Strategy != "sms") || !conn.EnabledFor(req.Client.ClientID) {
		return Ticket{}, &Error{Kind: fault.Invalid, Code: "invalid_request", Description: "Unknown realm " + truncate(req.Realm, 64) + "."}
	}
	// The check logs scoa (and ss) or fcoa in its own transaction.
	user, err := s.Passwordless.Verify(ctx, passwordless.VerifyRequest{
		Client: req.Client, Connection: conn, Username: req.Username, OTP: req.OTP, IP: req.IP,
		Takes: req.Takes, Taken: req.Taken, UserAgent: req.UserAgent,
		Log: passwordless.LogAs{Success: eventlog.TypeSuccessCrossOrigin, Failure: eventlog.TypeFailedCrossOrigin,
			Details: map[string]any{"flow": "cross_origin"}},
	})
	if err != nil {
		return Ticket{}, err
	}
	now := s.Now()
	value, err := randomString(32)
	if err != nil {
		return Ticket{}, err
	}
	verifier, err := randomString(32)
	if err != nil {
		return Ticket{}, err
	}
	t := Ticket{Value: value, Verifier: verifier, ID: TicketID(value), UserID: user.UserID}
	err = s.Store.CreateLoginTicket(ctx, store.LoginTicket{
		ID: t.ID, Hash: HashToken(value), VerifierHash: HashToken(verifier),
		ClientID: req.Client.ClientID, UserID: user.UserID,
		CreatedAt: now, ExpiresAt: now.Add(LoginTicketLifetime),
	})
	if err != nil {
		return Ticket{}, fmt.Errorf("store login ticket: %w", err)
	}
	return t, nil
}

// TicketID is the co_id of a ticket: derived from its value, so that
// /authorize knows which cookie and which stored verifier to look for
// without a lookup, and tells nothing about the value.
func TicketID(ticket string) string {
	sum := sha256.Sum256([]byte("sesame co_id\x00" + ticket))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// ErrBadTicket refuses a login ticket that is unknown, used, expired, for
// another client or shown without its verifier. /authorize sends it to the
// redirect_uri as access_denied.
var ErrBadTicket = &Error{Kind: fault.Denied, Code: "access_denied",
	Description: "The login ticket is invalid, expired or already used, or was not issued to this browser. Please try to login again."}

// RedeemLoginTicket spends ticket, whatever happens next, and returns the
// user it logs in to client. The verifier must be the one issued with the
// ticket; any failure is ErrBadTicket, or an error of the store.
func (s *Server) RedeemLoginTicket(ctx context.Context, client *tenant.Client, ticket, verifier string) (store.User, error) {
	if ticket == "" || len(ticket) > 512 || len(verifier) > 512 {
		return store.User{}, ErrBadTicket
	}
	lt, err := s.Store.RedeemLoginTicket(ctx, HashToken(ticket), s.Now())
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrCodeExpired):
		return store.User{}, ErrBadTicket
	case err != nil:
		return store.User{}, fmt.Errorf("redeem login ticket: %w", err)
	}
	if lt.ClientID != client.ClientID || subtle.ConstantTimeCompare(HashToken(verifier), lt.VerifierHash) != 1 {
		return store.User{}, ErrBadTicket
	}
	user, err := s.Store.User(ctx, lt.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrBadTicket
	}
	if err != nil {
		return store.User{}, fmt.Errorf("load user: %w", err)
	}
	return user, nil
}

// TicketCookie is the cookie /co/authenticate sets with a ticket's
// verifier, for the issuer's path, as long as the ticket lives. It is sent
// by a cross-site fetch with credentials and read by a top-level /authorize,
// so on https it is SameSite=None (which needs Secure); on plain http
// (development) it is Lax, which a same-site application (localhost on
// another port) still gets.
func TicketCookie(issuer string, t Ticket) *http.Cookie {
	c := ticketCookie(issuer, t.ID, t.Verifier)
	c.MaxAge = int(LoginTicketLifetime / time.Second)
	return c
}

// ClearTicketCookie is the cookie that removes a ticket's from the browser.
func ClearTicketCookie(issuer, id string) *http.Cookie {
	c := ticketCookie(issuer, id, "")
	c.MaxAge = -1
	return c
}

func ticketCookie(issuer, id, value string) *http.Cookie {
	u, _ := url.Parse(issuer)
	path, secure := "/", false
	if u != nil {
		if u.Path != "" {
			path = u.Path
		}
		secure = u.Scheme == "https"
	}
	c := &http.Cookie{Name: TicketCookiePrefix + id, Value: value, Path: path, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	if secure {
		c.SameSite = http.SameSiteNoneMode
	}
	return c
}
