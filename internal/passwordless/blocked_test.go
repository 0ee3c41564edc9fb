package passwordless

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/sqlite"
	"github.com/sesame-id/sesame/internal/tenant"
)

// TestVerify_BlockedUserIsRefused: a right code of a user an operator
// blocked logs no one in (Auth0's 401 "user is blocked"), records nothing
// of a login and is used up; once unblocked, the user logs in again.
func TestVerify_BlockedUserIsRefused(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sesame.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	client := &tenant.Client{ClientID: "app", Name: "App"}
	conn := &tenant.Connection{Name: "email", Strategy: "email"}
	conn.Options.BruteForceProtection = true
	svc := &Service{Store: st, HMACKey: make([]byte, 32), Protection: DefaultProtection(), Now: func() time.Time { return now }}

	u, err := NewUser(conn, "ada@example.com", now)
	if err != nil {
		t.Fatal(err)
	}
	u.Blocked = true
	if u, err = st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	code := func(id, otp string) {
		t.Helper()
		c := store.Code{ID: id, Connection: conn.Name, Identifier: "ada@example.com",
			CodeHMAC: codeHMAC(svc.HMACKey, conn.Name, "ada@example.com", client.ClientID, otp),
			ClientID: client.ClientID, Send: "code", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), MaxTries: MaxTries}
		if _, err := st.CreateCode(ctx, c, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	verify := func(otp string) (store.User, error) {
		return svc.Verify(ctx, VerifyRequest{Client: client, Connection: conn, Username: "Ada@Example.com", OTP: otp, IP: "192.0.2.1"})
	}

	code("c1", "123456")
	if got, err := verify("123456"); !errors.Is(err, ErrUserBlocked) || got.UserID != "" {
		t.Fatalf("Verify of a blocked user = %+v, %v; want ErrUserBlocked", got, err)
	}
	var pe *Error
	if !errors.As(ErrUserBlocked, &pe) || pe.Code != "unauthorized" || pe.Description != "user is blocked" {
		t.Errorf("ErrUserBlocked = %v, want Auth0's unauthorized / user is blocked", ErrUserBlocked)
	}
	if stored, err := st.User(ctx, u.UserID); err != nil || stored.LoginsCount != 0 || !stored.LastLogin.IsZero() || stored.EmailVerified {
		t.Errorf("a refused login was recorded: %+v, %v", stored, err)
	}
	if _, err := verify("123456"); errors.Is(err, ErrUserBlocked) || err == nil {
		t.Errorf("the refused code was not used up: %v", err)
	}

	if _, err := st.UpdateUser(ctx, u.UserID, func(v *store.User) error { v.Blocked = false; return nil }); err != nil {
		t.Fatal(err)
	}
	code("c2", "654321")
	got, err := verify("654321")
	if err != nil || got.UserID != u.UserID || got.LoginsCount != 1 || !got.EmailVerified {
		t.Fatalf("Verify after the unblock = %+v, %v", got, err)
	}
}
