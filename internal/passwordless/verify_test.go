package passwordless

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/sqlite"
	"github.com/sesame-id/sesame/internal/tenant"
)

// TestVerify_LogsItsOutcomeInItsOwnTransaction: a code check writes its
// tenant log lines with the check (fepotpft with the answer's words, ss and
// s for a new user's login, fs for a signup disable_signup refuses); a check
// that logs no one in writes nothing, and a username that is no identifier
// goes to the recorder without the username.
func TestVerify_LogsItsOutcomeInItsOwnTransaction(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sesame.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f, _, err := tenant.ParseFile("tenant.yaml", []byte(`
clients:
  - name: App
    client_id: app
    app_type: native
connections:
  - name: open
    strategy: email
    enabled_clients: [App]
  - name: closed
    strategy: email
    enabled_clients: [App]
    options: {disable_signup: true}
`), "", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	tn := f.Tenant()
	client := tn.Client("app")
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var recorded []store.Event
	svc := &Service{Store: st, HMACKey: make([]byte, 32), Now: func() time.Time { return now },
		Protection: DefaultProtection(),
		Events:     func(_ context.Context, e store.Event) error { recorded = append(recorded, e); return nil }}
	newCode := func(id, conn, email, value string) {
		t.Helper()
		c := store.Code{ID: id, Connection: conn, Identifier: email, CodeHMAC: codeHMAC(svc.HMACKey, conn, email, "app", value),
			ClientID: "app", Send: "code", CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxTries: MaxTries}
		if _, err := st.CreateCode(ctx, c, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	logAs := LogAs{Success: "s", Failure: "fepotpft", Details: map[string]any{"grant_type": "otp"}}
	verify := func(conn, username, otp string) error {
		_, err := svc.Verify(ctx, VerifyRequest{Client: client, Connection: tn.Connection(conn), Username: username, OTP: otp,
			IP: "192.0.2.7", UserAgent: "test-agent", Log: logAs})
		return err
	}
	logged := func(want ...string) []store.Event {
		t.Helper()
		page, err := st.Events(ctx, store.EventQuery{After: "0"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range page.Events {
			got = append(got, e.Type)
		}
		if len(got) != len(want) {
			t.Fatalf("events %q, want %q", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("events %q, want %q", got, want)
			}
		}
		return page.Events
	}

	newCode("c1", "open", "new@example.com", "123456")
	var pe *Error
	if err := verify("open", "new@example.com", "000000"); !errors.As(err, &pe) || pe.Description != DescWrongEmailCode {
		t.Fatalf("wrong code: %v", err)
	}
	if err := verify("open", "New@Example.com", "123456"); err != nil {
		t.Fatal(err)
	}
	ev := logged("fepotpft", "ss", "s")
	if e := ev[0]; e.Description != DescWrongEmailCode || string(e.Details) != `{"error":"invalid_grant","grant_type":"otp"}` ||
		e.ClientID != "app" || e.ClientName != "App" || e.Connection != "open" || e.Identifier != "new@example.com" ||
		e.IP != "192.0.2.7" || e.UserAgent != "test-agent" || e.UserID != "" {
		t.Errorf("fepotpft = %+v", e)
	}
	if ev[1].UserID == "" || ev[2].UserID != ev[1].UserID || ev[2].Identifier != "new@example.com" {
		t.Errorf("ss, s = %+v, %+v", ev[1], ev[2])
	}

	// disable_signup: the right code of a stranger is used up, and fs logged.
	newCode("c2", "closed", "stranger@example.com", "654321")
	if err := verify("closed", "stranger@example.com", "654321"); !errors.As(err, &pe) || pe.Description != DescSignupDisabled {
		t.Fatalf("stranger on a closed connection: %v", err)
	}
	if e := logged("fepotpft", "ss", "s", "fs")[3]; e.Description != DescSignupDisabled || e.Connection != "closed" {
		t.Errorf("fs = %+v", e)
	}

	// A check that logs no one in (Check) logs no success.
	newCode("c3", "open", "new@example.com", "111111")
	if err := svc.Check(ctx, VerifyRequest{Client: client, Connection: tn.Connection("open"), Username: "new@example.com",
		OTP: "111111", Log: LogAs{Failure: "f"}}); err != nil {
		t.Fatal(err)
	}
	logged("fepotpft", "ss", "s", "fs")

	// A username that is no address: refused before the store, recorded
	// without what was typed.
	if err := verify("open", "not an address 123456", "123456"); !errors.As(err, &pe) {
		t.Fatalf("not an address: %v", err)
	}
	if len(recorded) != 1 || recorded[0].Type != "fepotpft" || recorded[0].Identifier != "" || recorded[0].ID == "" {
		t.Errorf("recorded = %+v", recorded)
	}
}
