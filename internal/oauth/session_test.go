package oauth

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// memSessions is a SessionStore in a map, with the store's expiry rule.
type memSessions map[string]store.Session

func (m memSessions) CreateSession(_ context.Context, s store.Session) error {
	m[string(s.Hash)] = s
	return nil
}

func (m memSessions) Session(_ context.Context, hash []byte, now time.Time) (store.Session, error) {
	s, ok := m[string(hash)]
	if !ok || !now.Before(s.ExpiresAt) {
		return store.Session{}, store.ErrNotFound
	}
	return s, nil
}

func (m memSessions) DeleteSession(_ context.Context, hash []byte) error {
	delete(m, string(hash))
	return nil
}

func TestSessions_CreateGetEnd(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := memSessions{}
	s := &Sessions{Store: st, Issuer: "https://id.example/auth/", Now: func() time.Time { return now }}

	sess, c, err := s.Create(ctx, Login{User: store.User{UserID: "email|1"}, ClientID: "app", IP: "192.0.2.1", UserAgent: "ua"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != SessionCookie || c.Path != "/auth/" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
		c.MaxAge != int(SessionLifetime.Seconds()) || !c.Expires.Equal(now.Add(SessionLifetime)) {
		t.Errorf("cookie %+v", c)
	}
	if string(sess.Hash) == c.Value || sess.UserID != "email|1" || sess.ClientID != "app" || !sess.AuthTime.Equal(now) {
		t.Errorf("session %+v", sess)
	}
	got, err := s.Get(ctx, c.Value)
	if err != nil || got.ID != sess.ID {
		t.Fatalf("Get = %+v, %v; want %s", got, err, sess.ID)
	}
	for _, v := range []string{"", "nope"} {
		if _, err := s.Get(ctx, v); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", v, err)
		}
	}

	gone, err := s.End(ctx, c.Value)
	if err != nil || gone.Name != SessionCookie || gone.MaxAge != -1 || gone.Value != "" || gone.Path != "/auth/" {
		t.Fatalf("End = %+v, %v", gone, err)
	}
	if _, err := s.Get(ctx, c.Value); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after End = %v, want ErrNotFound", err)
	}
}

func TestSessions_ExpireAfterTheirLifetime(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &Sessions{Store: memSessions{}, Issuer: "http://localhost:3000/", Now: func() time.Time { return now }}
	_, c, err := s.Create(ctx, Login{User: store.User{UserID: "email|1"}, ClientID: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Secure || c.Path != "/" {
		t.Errorf("cookie over http: %+v", c)
	}
	now = now.Add(SessionLifetime)
	if _, err := s.Get(ctx, c.Value); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get at the session's end = %v, want ErrNotFound", err)
	}
}
