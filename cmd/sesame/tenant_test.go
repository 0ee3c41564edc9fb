package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-id/sesame/internal/app"
)

// exportFixtureEnv is the environment of the a0deploy export in
// internal/tenant/testdata, and of the export Sesame writes of it: the
// secrets its placeholders stand for.
var exportFixtureEnv = map[string]string{
	"MAIL_FROM":                    "login@example.com",
	"TWILIO_TOKEN":                 "twilio-token-value",
	"SMTP_HOSTNAME":                "smtp.example.com",
	"SMTP_PORT":                    "587",
	"SMTP_USER":                    "mailer",
	"SMTP_PASS":                    "smtp-pass-value",
	"SUPPORT_EMAIL":                "help@example.com",
	"CONNECTIONS_SMS_TWILIO_TOKEN": "twilio-token-value",
}

// storedTenant reads the tenant of a database as comparable text: records
// sorted, documents with sorted keys and enabled_clients as a set, client
// secrets' hashes and timestamps aside.
func storedTenant(t *testing.T, database string) string {
	t.Helper()
	st, err := app.OpenStore(context.Background(), app.Config{Database: database})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	state, err := st.Tenant(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	doc := func(data []byte) string {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		if list, ok := m["enabled_clients"].([]any); ok {
			slices.SortFunc(list, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	var lines []string
	for _, r := range state.Clients {
		lines = append(lines, fmt.Sprintf("client %s %s %s secret:%v", r.ClientID, r.Name, doc(r.Data), len(r.SecretHash) > 0))
	}
	for _, r := range state.Connections {
		lines = append(lines, fmt.Sprintf("connection %s %s %s %s", r.Name, r.ID, r.Strategy, doc(r.Data)))
	}
	for _, r := range state.ResourceServers {
		lines = append(lines, fmt.Sprintf("api %s %s %s", r.Identifier, r.ID, doc(r.Data)))
	}
	for _, r := range state.ClientGrants {
		lines = append(lines, fmt.Sprintf("grant %s %s %s %s", r.ClientID, r.Audience, r.ID, doc(r.Data)))
	}
	if len(state.EmailProvider) > 0 {
		lines = append(lines, "email provider "+doc(state.EmailProvider))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// readTree reads every file under dir, by path relative to it.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTenant_ExportImportRoundTripOnSQLite: "sesame tenant import" of an
// a0deploy export, "sesame tenant export" of that database, and an import
// of the export into a fresh database give the same stored tenant (client
// secrets aside: new ones are made and printed once), and the fresh
// database exports to the same bytes. With --output a directory (bodies in
// connections/), a .json file, and standard output (bodies inline).
func TestTenant_ExportImportRoundTripOnSQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	getenv := func(k string) string { return exportFixtureEnv[k] }
	sesame := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(ctx, args, getenv, &stdout, &stderr); err != nil {
			t.Fatalf("sesame %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String()
	}
	origDB := "sqlite:" + filepath.Join(dir, "orig.db")
	out := sesame("tenant", "import", "../../internal/tenant/testdata/export/tenant.yaml", "--database", origDB)
	if !strings.Contains(out, "client_secret:") {
		t.Errorf("import printed no generated secret:\n%s", out)
	}
	want := storedTenant(t, origDB)

	for _, c := range []struct {
		name   string
		output func(dir string) string // "" for standard output
		file   string                  // the tenant file, relative to the output dir
	}{
		{"directory", func(d string) string { return d }, "tenant.yaml"},
		{"json file", func(d string) string { return filepath.Join(d, "t.json") }, "t.json"},
		{"standard output", func(string) string { return "" }, "tenant.yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			export := func(database, outDir string) map[string][]byte {
				t.Helper()
				args := []string{"tenant", "export", "--database", database}
				if o := c.output(outDir); o != "" {
					sesame(append(args, "--output", o)...)
				} else {
					if err := os.MkdirAll(outDir, 0o755); err != nil {
						t.Fatal(err)
					}
					y := sesame(args...)
					if err := os.WriteFile(filepath.Join(outDir, c.file), []byte(y), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return readTree(t, outDir)
			}
			first := export(origDB, filepath.Join(t.TempDir(), "first"))
			if _, ok := first[c.file]; !ok {
				t.Fatalf("no %s in %v", c.file, first)
			}
			if _, beside := first["connections/email.html"]; beside == (c.output("x") == "") {
				t.Errorf("connections/email.html written: %v", beside)
			}
			for f, b := range first {
				for _, secret := range []string{"smtp-pass-value", "twilio-token-value"} {
					if bytes.Contains(b, []byte(secret)) {
						t.Errorf("%s holds the secret %q", f, secret)
					}
				}
			}

			firstDir := filepath.Join(t.TempDir(), "import")
			for f, b := range first {
				p := filepath.Join(firstDir, filepath.FromSlash(f))
				_ = os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			freshDB := "sqlite:" + filepath.Join(t.TempDir(), "fresh.db")
			sesame("tenant", "import", filepath.Join(firstDir, c.file), "--database", freshDB)
			if got := storedTenant(t, freshDB); got != want {
				t.Errorf("the export imported into a fresh database:\n%s\nwant:\n%s", got, want)
			}

			second := export(freshDB, filepath.Join(t.TempDir(), "second"))
			if len(second) != len(first) {
				t.Errorf("second export has %d files, the first %d", len(second), len(first))
			}
			for f, b := range first {
				if !bytes.Equal(second[f], b) {
					t.Errorf("%s differs between the exports:\n%s\nfirst:\n%s", f, second[f], b)
				}
			}
		})
	}

	var stdout, stderr bytes.Buffer
	for _, bad := range [][]string{
		{"tenant", "export", "--format", "toml", "--database", origDB},
		{"tenant", "export", "--format", "yaml", "--output", filepath.Join(dir, "x.json"), "--database", origDB},
		{"tenant", "import", "--database", origDB},
		{"tenant", "dump", "--database", origDB},
	} {
		if err := run(ctx, bad, getenv, &stdout, &stderr); err == nil {
			t.Errorf("sesame %s: no error", strings.Join(bad, " "))
		}
	}
}
