package app

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/secrets"
)

// TestConfigurationReferenceIsCurrent fails when docs/CONFIGURATION.md's
// generated reference is not what the code defines: a flag added, renamed
// or given another default, or a tenant field accepted differently, without
// `go run ./cmd/sesame config docs --write docs/CONFIGURATION.md`.
func TestConfigurationReferenceIsCurrent(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "CONFIGURATION.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReplaceReference(string(doc), ConfigReference())
	if err != nil {
		t.Fatal(err)
	}
	if want != string(doc) {
		t.Fatal("docs/CONFIGURATION.md is out of date: run `go run ./cmd/sesame config docs --write docs/CONFIGURATION.md` and commit it")
	}
}

// TestConfigReference_EveryFlagWithItsEnvironmentAndDefault checks the
// reference against a few definitions it must carry.
func TestConfigReference_EveryFlagWithItsEnvironmentAndDefault(t *testing.T) {
	ref := ConfigReference()
	for _, want := range []string{
		"| `--listen` | `SESAME_LISTEN` | `127.0.0.1:8080` | serve |",
		"| `--database` | `SESAME_DATABASE` | `sqlite:./sesame.db` | all |",
		"| `--limit-start-ip` | `SESAME_LIMIT_START_IP` | `50/1h0m0s` | serve |",
		"| `--key-reload-interval` | `SESAME_KEY_RELOAD_INTERVAL` | `20s` | serve, keys |",
		"| `client_secret` | string | used |",
		"| `totp.length` | integer | used |",
	} {
		if !strings.Contains(ref, want) {
			t.Errorf("reference lacks %q", want)
		}
	}
}

// TestConfigCheck validates settings and a tenant file without starting
// anything, prints the effective settings with the database password
// redacted, and fails on a bad tenant file.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "tenant.yaml")
	if err := os.WriteFile(good, []byte("clients:\n  - name: App\n    app_type: regular_web\n    callbacks: [\"https://app.example.com/cb\"]\nconnections:\n  - name: email\n    strategy: email\n    enabled_clients: [App]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := secrets.Generate(time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SESAME_DATABASE": "postgres://sesame:hunter2@db:5432/sesame", "SESAME_TENANT": good}
	getenv := func(k string) string { return env[k] }
	var out, errOut bytes.Buffer
	// PostgreSQL without a key set: the check fails as serve would.
	if err := ConfigCommand(t.Context(), []string{"check"}, getenv, &out, &errOut); err == nil || !strings.Contains(err.Error(), "sesame secrets generate") {
		t.Fatalf("config check on PostgreSQL without keys: %v", err)
	}
	out.Reset()
	env["SESAME_SECRETS"] = string(set.Marshal())
	if err := ConfigCommand(t.Context(), []string{"check", "--listen", "127.0.0.1:9999"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("config check: %v\n%s", err, errOut.String())
	}
	got := out.String()
	for _, want := range []string{"--listen=127.0.0.1:9999", "sesame:xxxxx@db:5432", "tenant " + good + ": ok (1 clients, 1 connections",
		"secrets: SESAME_SECRETS: current key " + set.Current()} {
		if !strings.Contains(got, want) {
			t.Errorf("config check output lacks %q:\n%s", want, got)
		}
	}
	if m := regexp.MustCompile(`"secret": "([^"]+)"`).FindStringSubmatch(string(set.Marshal())); m == nil || strings.Contains(got, m[1]) {
		t.Errorf("config check printed a key:\n%s", got)
	}
	if strings.Contains(got, "hunter2") {
		t.Errorf("config check printed the database password:\n%s", got)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("clients:\n  - name: App\n    app_typo: regular_web\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env["SESAME_TENANT"] = bad
	if err := ConfigCommand(t.Context(), []string{"check"}, getenv, &out, &errOut); err == nil || !strings.Contains(err.Error(), "app_typo") {
		t.Errorf("config check of a tenant file with a typo: %v", err)
	}
	if err := ConfigCommand(t.Context(), []string{"check", "--delivery-concurrency", "0"}, getenv, &out, &errOut); err == nil {
		t.Error("config check accepted --delivery-concurrency 0")
	}
}
