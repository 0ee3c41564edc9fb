package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/app"
)

// TestTenant_AReplicaServesWhatAnotherImported: a second replica starting
// with a new tenant file (here: one more application) changes what the
// running one serves within its reload interval, without a restart.
func TestTenant_AReplicaServesWhatAnotherImported(t *testing.T) {
	e := newEnv(t, envOptions{tenantReload: 200 * time.Millisecond})
	const newID, newSecret = "addedByReplica0000000000000001", "added-by-replica-secret-0123456789-abcdefgh"
	start := func() response {
		return e.postJSON("passwordless/start", map[string]any{
			"client_id": newID, "client_secret": newSecret, "connection": "email",
			"email": "late@example.com", "send": "code",
		})
	}
	if r := start(); r.Status != 400 || !strings.Contains(string(r.Body), "Unknown client") {
		t.Fatalf("start with an application the tenant does not have yet: %d %s", r.Status, r.Body)
	}

	raw, err := os.ReadFile(e.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	added := strings.Replace(string(raw), "clients:\n", `clients:
  - name: Added Later
    client_id: `+newID+`
    client_secret: `+newSecret+`
    app_type: regular_web
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp]
`, 1)
	added = strings.Replace(added, "enabled_clients: [", "enabled_clients: [Added Later, ", 1)
	file := filepath.Join(t.TempDir(), "tenant.yaml")
	if err := os.WriteFile(file, []byte(added), 0o600); err != nil {
		t.Fatal(err)
	}
	other, err := app.New(context.Background(), app.Config{Issuer: e.URL, Database: e.database(), SecretsInline: e.Secrets, Tenant: file},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("second replica: %v", err)
	}
	other.Close()

	deadline := time.Now().Add(5 * time.Second)
	for {
		r := start()
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after another replica imported the application, starts still get %d %s", r.Status, r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Once: an unchanged tenant is not reloaded at every interval.
	time.Sleep(time.Second)
	if n := strings.Count(e.logs.String(), "the stored tenant changed"); n != 1 {
		t.Errorf("the switch was logged %d times, want once", n)
	}
}

// TestTenant_AStoredTenantThatDoesNotLoadKeepsTheOneInUse: another replica
// imported a tenant whose email template does not parse (its own start
// failed, after the import). The running one says so once and keeps serving
// the tenant it has: the application that file adds stays unknown.
func TestTenant_AStoredTenantThatDoesNotLoadKeepsTheOneInUse(t *testing.T) {
	e := newEnv(t, envOptions{tenantReload: 200 * time.Millisecond})
	const newID, newSecret = "addedByBrokenReplica0000000001", "added-by-broken-replica-secret-0123456789-abc"
	raw, err := os.ReadFile(e.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(raw), "clients:\n", `clients:
  - name: Added With A Broken Template
    client_id: `+newID+`
    client_secret: `+newSecret+`
    app_type: regular_web
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp]
`, 1)
	broken = strings.Replace(broken, `subject: "Your code for {{ application.name }}"`, `subject: "Your code{% if application.name %} for {{ application.name }}"`, 1)
	broken = strings.Replace(broken, "enabled_clients: [", "enabled_clients: [Added With A Broken Template, ", 1)
	file := filepath.Join(t.TempDir(), "tenant.yaml")
	if err := os.WriteFile(file, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	if other, err := app.New(context.Background(), app.Config{Issuer: e.URL, Database: e.database(), SecretsInline: e.Secrets, Tenant: file},
		slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		other.Close()
		t.Fatal("a replica started on a tenant whose template does not parse")
	}

	time.Sleep(time.Second) // five reload intervals
	if n := strings.Count(e.logs.String(), "the stored tenant changed but does not load"); n != 1 {
		t.Errorf("the broken tenant was logged %d times, want once:\n%s", n, e.logs.String())
	}
	r := e.postJSON("passwordless/start", map[string]any{
		"client_id": newID, "client_secret": newSecret, "connection": "email",
		"email": "late@example.com", "send": "code",
	})
	if r.Status != 400 || !strings.Contains(string(r.Body), "Unknown client") {
		t.Errorf("start with the broken tenant's application: %d %s, want the tenant in use to stay", r.Status, r.Body)
	}
}
