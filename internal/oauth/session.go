package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// SessionCookie is the name of the login session cookie.
const SessionCookie = "sesame_session"

// SessionLifetime is how long a login session lasts.
const SessionLifetime = 3 * 24 * time.Hour

// SessionStore is the part of the store login sessions use.
type SessionStore interface {
	CreateSession(ctx context.Context, s store.Session) error
	Session(ctx context.Context, hash []byte, now time.Time) (store.Session, error)
	DeleteSession(ctx context.Context, hash []byte) error
}

// Sessions are the browsers' login sessions. The cookie holds a random
// 256-bit value and the store only its SHA-256, so the store's rows log no
// one in.
type Sessions struct {
	Store  SessionStore
	Issuer string // public URL with a trailing slash: the cookie's Path, and Secure when https
	Now    func() time.Time
}

// Login is a user's successful login in a browser: who, through which
// client, and from where.
type Login struct {
	User      store.User
	ClientID  string
	IP        string
	UserAgent string
}

// Create opens a session for l, starting now, and returns it with the cookie
// that carries it: HttpOnly, SameSite=Lax, Secure whenever the issuer is
// https.
func (s *Sessions) Create(ctx context.Context, l Login) (store.Session, *http.Cookie, error) {
	now := s.Now()
	value, err := randomString(32)
	if err != nil {
		return store.Session{}, nil, err
	}
	id, err := randomString(16)
	if err != nil {
		return store.Session{}, nil, err
	}
	sess := store.Session{
		ID: id, Hash: HashToken(value), UserID: l.User.UserID, ClientID: l.ClientID,
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime),
		IP: l.IP, UserAgent: truncate(l.UserAgent, 512),
	}
	if err := s.Store.CreateSession(ctx, sess); err != nil {
		return store.Session{}, nil, fmt.Errorf("create session: %w", err)
	}
	c := s.cookie(value)
	c.Expires, c.MaxAge = sess.ExpiresAt, int(SessionLifetime.Seconds())
	return sess, c, nil
}

// Get returns the live session whose cookie value is value;
// store.ErrNotFound when there is none (no cookie, an unknown or an expired
// one).
func (s *Sessions) Get(ctx context.Context, value string) (store.Session, error) {
	if value == "" || len(value) > 512 {
		return store.Session{}, store.ErrNotFound
	}
	sess, err := s.Store.Session(ctx, HashToken(value), s.Now())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Session{}, fmt.Errorf("read session: %w", err)
	}
	return sess, err
}

// End deletes the session whose cookie value is value, if there is one, and
// returns the cookie that clears it from the browser.
func (s *Sessions) End(ctx context.Context, value string) (*http.Cookie, error) {
	if value != "" && len(value) <= 512 {
		if err := s.Store.DeleteSession(ctx, HashToken(value)); err != nil {
			return nil, fmt.Errorf("delete session: %w", err)
		}
	}
	c := s.cookie("")
	c.MaxAge = -1
	return c, nil
}

// cookie is the session cookie with value and every attribute but its
// lifetime.
func (s *Sessions) cookie(value string) *http.Cookie {
	u, _ := url.Parse(s.Issuer)
	path := "/"
	if u != nil && u.Path != "" {
		path = u.Path
	}
	return &http.Cookie{
		Name: SessionCookie, Value: value, Path: path,
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: u != nil && u.Scheme == "https",
	}
}
