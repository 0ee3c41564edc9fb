package passwordless

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/sqlite"
	"github.com/sesame-id/sesame/internal/tenant"
)

// TestVerify_AcceptsCodesUnderEveryKeyItHolds: after a rotation (a new
// current key, the old one still held, and the legacy in-database key), a
// code made under any of them verifies, a code under a key no longer held
// does not, and a wrong code uses exactly one try however many keys it was
// checked under.
func TestVerify_AcceptsCodesUnderEveryKeyItHolds(t *testing.T) {
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
  - name: email
    strategy: email
    enabled_clients: [App]
`), "", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	tn := f.Tenant()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	key := func(b byte) []byte {
		k := make([]byte, 32)
		k[0] = b
		return k
	}
	legacy, old, cur, gone := key(1), key(2), key(3), key(4)
	svc := &Service{Store: st, HMACKeys: []CodeKey{{ID: "new", Key: cur}, {ID: "old", Key: old}}, HMACKey: legacy,
		Protection: DefaultProtection(), Now: func() time.Time { return now }}
	if k := svc.issueKey(); k.ID != "new" {
		t.Fatalf("new codes are made under %q, want the current key", k.ID)
	}
	newCode := func(id, email string, key []byte, keyID string) {
		t.Helper()
		c := store.Code{ID: id, Connection: "email", Identifier: email, CodeHMAC: codeHMAC(key, "email", email, "app", "123456"),
			KeyID: keyID, ClientID: "app", Send: "code", CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxTries: MaxTries}
		if _, err := st.CreateCode(ctx, c, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	verify := func(email, otp string) (store.User, error) {
		return svc.Verify(ctx, VerifyRequest{Client: tn.Client("app"), Connection: tn.Connection("email"), Username: email, OTP: otp, IP: "192.0.2.7"})
	}
	for _, tc := range []struct {
		email string
		key   []byte
		id    string
	}{{"cur@example.com", cur, "new"}, {"old@example.com", old, "old"}, {"legacy@example.com", legacy, ""}} {
		// Two wrong codes, each checked under three keys: were a try
		// counted per key, the code would be used up (MaxTries is 3).
		newCode(tc.email, tc.email, tc.key, tc.id)
		for _, wrong := range []string{"000000", "111111"} {
			if _, err := verify(tc.email, wrong); err == nil {
				t.Fatalf("%s: a wrong code verified", tc.email)
			}
		}
		if _, err := verify(tc.email, "123456"); err != nil {
			t.Fatalf("%s: the right code after two wrong ones: %v", tc.email, err)
		}
	}
	// And a wrong code does count: three of them use the code up.
	newCode("spent", "spent@example.com", cur, "new")
	for _, wrong := range []string{"000000", "111111", "222222"} {
		if _, err := verify("spent@example.com", wrong); err == nil {
			t.Fatal("a wrong code verified")
		}
	}
	if _, err := verify("spent@example.com", "123456"); err == nil {
		t.Fatal("the right code verified after three wrong ones")
	}
	newCode("gone", "gone@example.com", gone, "gone")
	if _, err := verify("gone@example.com", "123456"); err == nil {
		t.Fatal("a code under a key the server no longer holds verified")
	}
	// Without the legacy key, a legacy code is no longer good.
	svc.HMACKey = nil
	newCode("legacy2", "legacy2@example.com", legacy, "")
	if _, err := verify("legacy2@example.com", "123456"); err == nil {
		t.Fatal("a legacy code verified without the legacy key")
	}
}
