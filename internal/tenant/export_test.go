package tenant

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// writeFiles writes an export into dir.
func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// NormalizedState is a stored tenant as a comparable text, secrets'
// hashes and timestamps aside: records sorted by key, documents with their
// keys sorted and enabled_clients as a set.
func normalizedState(t *testing.T, st store.TenantState) string {
	t.Helper()
	doc := func(data []byte) string {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("stored document %s: %v", data, err)
		}
		if list, ok := m["enabled_clients"].([]any); ok {
			slices.SortFunc(list, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	var lines []string
	for _, r := range st.Clients {
		lines = append(lines, fmt.Sprintf("client %s %s %s", r.ClientID, r.Name, doc(r.Data)))
	}
	for _, r := range st.Connections {
		lines = append(lines, fmt.Sprintf("connection %s %s %s %s", r.Name, r.ID, r.Strategy, doc(r.Data)))
	}
	for _, r := range st.ResourceServers {
		lines = append(lines, fmt.Sprintf("api %s %s %s", r.Identifier, r.ID, doc(r.Data)))
	}
	for _, r := range st.ClientGrants {
		lines = append(lines, fmt.Sprintf("grant %s %s %s %s", r.ClientID, r.Audience, r.ID, doc(r.Data)))
	}
	if len(st.EmailProvider) > 0 {
		lines = append(lines, "email provider "+doc(st.EmailProvider))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// exportedSecrets are the environment an import of an export of the
// testdata tenant needs: the secrets the export wrote as placeholders.
var exportedSecrets = map[string]string{
	"SMTP_PASS":                              "smtp-pass-value",
	"CONNECTIONS_SMS_TWILIO_TOKEN":           "twilio-token-value",
	"CONNECTIONS_SMS_GATEWAY_GATEWAY_SECRET": "gateway-secret-value",
}

// exportFixture is the testdata export imported into a store, with an sms
// gateway connection added, whose secret the export must hide too.
func exportFixture(t *testing.T) *fakeStore {
	t.Helper()
	f, _ := mustLoad(t, "testdata/export/tenant.yaml", exportEnv)
	st := &fakeStore{}
	ctx := context.Background()
	if _, err := Import(ctx, st, f, time.Unix(1_700_000_000, 0)); err != nil {
		t.Fatal(err)
	}
	gw, _, err := parse(t, `
connections:
  - name: sms-gateway
    strategy: sms
    options:
      provider: sms_gateway
      gateway_url: https://sms.example.com/send
      gateway_authentication: {method: bearer, subject: urn:sesame, audience: urn:gw, secret: gateway-secret-value}
      sesame: {provider_timeout: 5}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Import(ctx, st, gw, time.Unix(1_700_000_100, 0)); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestExport_ImportIntoAnEmptyStoreGivesTheSameTenantAndTheSameBytes: the
// export of a stored tenant, imported into an empty store with its
// placeholders set, gives the same tenant (client secrets aside: they are
// not exported, and the import makes new ones), and that tenant exports to
// the same bytes. In YAML and JSON, with the bodies beside the file and
// inline.
func TestExport_ImportIntoAnEmptyStoreGivesTheSameTenantAndTheSameBytes(t *testing.T) {
	orig := exportFixture(t)
	want := normalizedState(t, orig.state)
	for _, opts := range []ExportOptions{{}, {Format: FormatJSON}, {InlineBodies: true}, {Format: FormatJSON, InlineBodies: true, Name: "x.json"}} {
		t.Run(fmt.Sprintf("%+v", opts), func(t *testing.T) {
			files, err := Export(orig.state, opts)
			if err != nil {
				t.Fatal(err)
			}
			name := opts.Name
			if name == "" {
				name = "tenant." + cmpOr(opts.Format, FormatYAML)
			}
			wantFiles := []string{name}
			if !opts.InlineBodies {
				wantFiles = append(wantFiles, "connections/email.html")
			}
			if got := slices.Sorted(maps.Keys(files)); !slices.Equal(got, slices.Sorted(slices.Values(wantFiles))) {
				t.Fatalf("files %q, want %q", got, wantFiles)
			}
			for f, b := range files {
				for _, secret := range exportedSecrets {
					if bytes.Contains(b, []byte(secret)) {
						t.Errorf("%s holds the secret %q", f, secret)
					}
				}
			}
			for _, placeholder := range []string{"##SMTP_PASS##", "##CONNECTIONS_SMS_TWILIO_TOKEN##", "##CONNECTIONS_SMS_GATEWAY_GATEWAY_SECRET##"} {
				if !bytes.Contains(files[name], []byte(placeholder)) {
					t.Errorf("%s lacks %s", name, placeholder)
				}
			}

			dir := t.TempDir()
			writeFiles(t, dir, files)
			f, _, err := LoadFile(filepath.Join(dir, name), env(exportedSecrets))
			if err != nil {
				t.Fatalf("the export does not load: %v\n%s", err, files[name])
			}
			fresh := &fakeStore{}
			creds, err := Import(context.Background(), fresh, f, time.Unix(1_800_000_000, 0))
			if err != nil {
				t.Fatal(err)
			}
			if got := normalizedState(t, fresh.state); got != want {
				t.Errorf("imported export:\n%s\nwant:\n%s", got, want)
			}
			// Confidential clients get a new secret, shown once; their
			// client_ids are the exported ones.
			var made []string
			for _, c := range creds {
				if c.ClientSecret == "" {
					t.Errorf("credentials %v without a secret", c)
				}
				made = append(made, c.Name)
			}
			if slices.Sort(made); !slices.Equal(made, []string{"Backend", "My App"}) {
				t.Errorf("new secrets for %q, want the confidential clients", made)
			}

			again, err := Export(fresh.state, opts)
			if err != nil {
				t.Fatal(err)
			}
			for f, b := range files {
				if !bytes.Equal(again[f], b) {
					t.Errorf("%s differs on the second export:\n%s\nfirst:\n%s", f, again[f], b)
				}
			}
			if len(again) != len(files) {
				t.Errorf("second export: %d files, first %d", len(again), len(files))
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestExport_Layout: the Deploy CLI layout, as a0deploy writes it: the
// sections, clients referred to by name and sorted, the email body in
// connections/<name>.html named ./<name>.html, no client secret, the
// credentials a0deploy masks as its placeholders.
func TestExport_Layout(t *testing.T) {
	st := exportFixture(t)
	files, err := Export(st.state, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	y := string(files["tenant.yaml"])
	for _, want := range []string{
		"clients:\n", "connections:\n", "resourceServers:\n", "clientGrants:\n", "emailProvider:\n",
		"body: ./email.html\n",
		"enabled_clients:\n      - Mobile\n      - My App\n",
		"client_id: Backend\n",
		"provider_timeout: 5\n",
		"lifetime_in_seconds: 36000\n",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("tenant.yaml lacks %q:\n%s", want, y)
		}
	}
	for _, re := range []string{`smtp_pass: ['"]##SMTP_PASS##['"]\n`, `twilio_token: ['"]##CONNECTIONS_SMS_TWILIO_TOKEN##['"]\n`} {
		if !regexp.MustCompile(re).MatchString(y) {
			t.Errorf("tenant.yaml does not match %s:\n%s", re, y)
		}
	}
	if strings.Index(y, "clients:") > strings.Index(y, "connections:") || strings.Index(y, "name: Backend") > strings.Index(y, "name: Mobile") {
		t.Errorf("sections or clients out of order:\n%s", y)
	}
	// The only client_secret is the Google connection's, as a placeholder.
	if m := regexp.MustCompile(`client_secret: (.*)\n`).FindAllStringSubmatch(y, -1); len(m) != 1 || strings.Trim(m[0][1], `'"`) != "##CONNECTIONS_GOOGLE_OAUTH2_SECRET##" {
		t.Errorf("client_secret in tenant.yaml: %q", m)
	}
	body, _ := os.ReadFile("testdata/export/connections/email.html")
	wantBody := strings.ReplaceAll(string(body), "##SUPPORT_EMAIL##", "help@example.com")
	if got := string(files["connections/email.html"]); got != wantBody {
		t.Errorf("connections/email.html:\n%s\nwant\n%s", got, wantBody)
	}
	if _, err := Export(st.state, ExportOptions{Format: "toml"}); err == nil {
		t.Error("format toml accepted")
	}
}

// TestExport_LeavesOutReferencesToClientsThatAreGone: a client deleted
// since (the Management API deletes; an import never does) leaves its id
// in enabled_clients and its grants in the store; the export, which could
// not name it, leaves both out, so that it still imports.
func TestExport_LeavesOutReferencesToClientsThatAreGone(t *testing.T) {
	st := exportFixture(t)
	var backend string
	for i, c := range st.state.Clients {
		if c.Name == "Backend" {
			backend = c.ClientID
			st.state.Clients = append(st.state.Clients[:i], st.state.Clients[i+1:]...)
			break
		}
	}
	for i, c := range st.state.Connections {
		if c.Name == "email" {
			var m map[string]any
			_ = json.Unmarshal(c.Data, &m)
			m["enabled_clients"] = append(m["enabled_clients"].([]any), backend)
			st.state.Connections[i].Data, _ = json.Marshal(m)
		}
	}
	files, err := Export(st.state, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if y := string(files["tenant.yaml"]); strings.Contains(y, backend) || strings.Contains(y, "Backend") || strings.Contains(y, "clientGrants") {
		t.Errorf("the export names the deleted client:\n%s", y)
	}
	dir := t.TempDir()
	writeFiles(t, dir, files)
	if _, _, err := LoadFile(filepath.Join(dir, "tenant.yaml"), env(exportedSecrets)); err != nil {
		t.Errorf("the export does not load: %v", err)
	}
}
