package tenant

import (
	"bytes"
	"context"
	"reflect"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

var (
	t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

func mustParse(t *testing.T, yaml string) *File {
	t.Helper()
	f, _, err := parse(t, yaml, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustImport(t *testing.T, st store.Store, f *File, now time.Time) []Credentials {
	t.Helper()
	creds, err := Import(context.Background(), st, f, now)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return creds
}

func mustFromStore(t *testing.T, st store.Store) *Tenant {
	t.Helper()
	tn, err := FromStore(context.Background(), st)
	if err != nil {
		t.Fatalf("FromStore: %v", err)
	}
	return tn
}

func TestImport_TwiceLeavesTheStoreUnchanged(t *testing.T) {
	st := &fakeStore{}
	f, _ := mustLoad(t, "testdata/export/tenant.yaml", exportEnv)
	first := mustImport(t, st, f, t0)
	before := cloneState(st.state)

	f2, _ := mustLoad(t, "testdata/export/tenant.yaml", exportEnv)
	if creds := mustImport(t, st, f2, t1); len(creds) != 0 {
		t.Errorf("second import generated credentials: %v", creds)
	}
	if !reflect.DeepEqual(before, st.state) {
		t.Errorf("second import changed the store:\nbefore %+v\nafter  %+v", before, st.state)
	}

	// Generated once: every client without client_id (3), with a secret
	// for the confidential ones (My App, Backend), none for Mobile.
	if len(first) != 3 {
		t.Fatalf("credentials = %v", first)
	}
	for _, c := range first {
		if !regexp.MustCompile(`^[A-Za-z0-9]{32}$`).MatchString(c.ClientID) {
			t.Errorf("%s: client_id %q", c.Name, c.ClientID)
		}
		wantSecret := c.Name != "Mobile"
		if wantSecret != regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(c.ClientSecret) {
			t.Errorf("%s: secret %q", c.Name, c.ClientSecret)
		}
	}
}

func TestImport_ResolvesNamesAndHashesSecrets(t *testing.T) {
	st := &fakeStore{}
	f, _ := mustLoad(t, "testdata/export/tenant.yaml", exportEnv)
	creds := mustImport(t, st, f, t0)
	tn := mustFromStore(t, st)

	ids := map[string]string{}
	for _, c := range creds {
		ids[c.Name] = c.ClientID
		client := tn.Client(c.ClientID)
		if client == nil || client.Name != c.Name {
			t.Fatalf("client %s not stored under its client_id", c.Name)
		}
		if c.ClientSecret != "" && (!client.CheckSecret(c.ClientSecret) || client.CheckSecret(c.ClientSecret+"x")) {
			t.Errorf("%s: CheckSecret does not match the generated secret", c.Name)
		}
		if c.ClientSecret == "" && (!client.IsPublic() || client.CheckSecret("")) {
			t.Errorf("%s: a public client must have no secret", c.Name)
		}
	}
	for _, r := range st.state.Clients {
		for _, c := range creds {
			if c.ClientSecret != "" && bytes.Contains(r.Data, []byte(c.ClientSecret)) {
				t.Errorf("client %s: Data holds the secret", r.Name)
			}
		}
	}

	email := tn.Connection("email")
	if !email.EnabledFor(ids["Mobile"]) || !email.EnabledFor(ids["My App"]) || email.EnabledFor(ids["Backend"]) {
		t.Errorf("email enabled_clients = %q, ids %v", email.EnabledClients, ids)
	}
	if !regexp.MustCompile(`^con_[A-Za-z0-9]{16}$`).MatchString(email.ID) {
		t.Errorf("connection id %q", email.ID)
	}
	rs := tn.ResourceServer("https://api.example.com/orders")
	if rs == nil || !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(rs.ID) {
		t.Errorf("resource server = %+v", rs)
	}
	g := tn.ClientGrant(ids["Backend"], "https://api.example.com/orders")
	if g == nil || !regexp.MustCompile(`^cgr_[A-Za-z0-9]{16}$`).MatchString(g.ID) || !slices.Equal(g.Scope, []string{"read:orders"}) {
		t.Errorf("grant = %+v", g)
	}
	if tn.EmailProvider == nil || tn.EmailProvider.Credentials.SMTPHost != "smtp.example.com" {
		t.Errorf("email provider = %+v", tn.EmailProvider)
	}
	if c := tn.Connection("google-oauth2"); c == nil || c.Strategy != "google-oauth2" {
		t.Errorf("an unimplemented strategy is still stored: %+v", c)
	}
}

func TestImport_SecretKeptAcrossImports(t *testing.T) {
	st := &fakeStore{}
	yaml := "clients:\n  - name: Web\n"
	creds := mustImport(t, st, mustParse(t, yaml), t0)
	if len(creds) != 1 || creds[0].ClientSecret == "" {
		t.Fatalf("credentials = %v", creds)
	}
	// A later edit of the client keeps the generated secret.
	mustImport(t, st, mustParse(t, yaml+"    description: edited\n"), t1)
	c := mustFromStore(t, st).Client(creds[0].ClientID)
	if c == nil || !c.CheckSecret(creds[0].ClientSecret) {
		t.Fatal("generated secret lost on re-import")
	}
	rec := st.state.Clients[0]
	if !rec.CreatedAt.Equal(t0) || !rec.UpdatedAt.Equal(t1) {
		t.Errorf("created %v updated %v", rec.CreatedAt, rec.UpdatedAt)
	}

	// A secret in the file replaces it, and is not returned.
	if creds := mustImport(t, st, mustParse(t, yaml+"    client_secret: from-the-file-0123456789\n"), t1); len(creds) != 0 {
		t.Errorf("credentials = %v", creds)
	}
	c = mustFromStore(t, st).Client(creds[0].ClientID)
	if !c.CheckSecret("from-the-file-0123456789") || c.CheckSecret(creds[0].ClientSecret) {
		t.Error("secret from the file not applied")
	}
	if bytes.Contains(st.state.Clients[0].Data, []byte("from-the-file")) {
		t.Error("Data holds the secret")
	}
}

func TestImport_ClientIDFromTheFile(t *testing.T) {
	st := &fakeStore{}
	f := mustParse(t, `
clients:
  - name: Web
    client_id: web0000000000000000000000000001
    client_secret: web-secret-0123456789
connections:
  - name: email
    strategy: email
    enabled_clients: [web0000000000000000000000000001]
clientGrants:
  - client_id: Web
    audience: https://tenant.example.com/api/v2/`)
	if creds := mustImport(t, st, f, t0); len(creds) != 0 {
		t.Errorf("credentials = %v", creds)
	}
	tn := mustFromStore(t, st)
	c := tn.Client("web0000000000000000000000000001")
	if c == nil || !c.CheckSecret("web-secret-0123456789") {
		t.Fatal("client not stored under the file's client_id")
	}
	if !tn.Connections[0].EnabledFor(c.ClientID) || tn.ClientGrant(c.ClientID, "https://tenant.example.com/api/v2/") == nil {
		t.Error("references not resolved")
	}

	// Renaming the client keeps its identity.
	mustImport(t, st, mustParse(t, "clients:\n  - {name: Renamed, client_id: web0000000000000000000000000001}\n"), t1)
	if got := mustFromStore(t, st).Client(c.ClientID); got == nil || got.Name != "Renamed" || !got.CheckSecret("web-secret-0123456789") {
		t.Errorf("after rename: %+v", got)
	}
	if len(st.state.Clients) != 1 {
		t.Errorf("clients = %d, want 1", len(st.state.Clients))
	}
}

func TestImport_KeepsWhatTheFileDoesNotMention(t *testing.T) {
	st := &fakeStore{}
	mustImport(t, st, mustParse(t, `
clients:
  - {name: A}
  - {name: B}
connections:
  - {name: email, strategy: email, enabled_clients: [A, B]}
resourceServers:
  - identifier: https://api.example.com/
emailProvider:
  name: smtp
  credentials: {smtp_host: smtp.example.com, smtp_port: 25}`), t0)
	before := cloneState(st.state)

	mustImport(t, st, mustParse(t, `
clients:
  - {name: A, description: changed}
connections:
  - {name: email, strategy: email, options: {disable_signup: true}}`), t1)

	tn := mustFromStore(t, st)
	if len(tn.Clients) != 2 || len(tn.ResourceServers) != 1 || tn.EmailProvider == nil {
		t.Errorf("objects absent from the file were deleted: %+v", tn)
	}
	email := tn.Connection("email")
	if len(email.EnabledClients) != 2 || !email.Options.DisableSignup {
		t.Errorf("email = %+v (enabled_clients left out must be kept)", email)
	}
	if !st.state.Clients[1].UpdatedAt.Equal(t0) || !st.state.Clients[0].UpdatedAt.Equal(t1) {
		t.Error("UpdatedAt must change only for changed objects")
	}
	if st.state.Connections[0].ID != before.Connections[0].ID || !st.state.Connections[0].CreatedAt.Equal(t0) {
		t.Error("connection id or created_at changed")
	}
}

func TestImport_NameTakenByAnotherStoredClient(t *testing.T) {
	st := &fakeStore{}
	mustImport(t, st, mustParse(t, "clients:\n  - {name: A}\n"), t0)
	before := cloneState(st.state)
	_, err := Import(context.Background(), st, mustParse(t, "clients:\n  - {name: A, client_id: other00000000000000000000000001}\n"), t1)
	if err == nil {
		t.Fatal("no error")
	}
	if !reflect.DeepEqual(before, st.state) {
		t.Error("a failed import changed the store")
	}
}

func TestImport_TwoFileClientsForOneStoredClient(t *testing.T) {
	st := &fakeStore{}
	mustImport(t, st, mustParse(t, "clients:\n  - {name: A, client_id: aaaa0000000000000000000000000001}\n"), t0)
	_, err := Import(context.Background(), st, mustParse(t, `
clients:
  - {name: A}
  - {name: B, client_id: aaaa0000000000000000000000000001}`), t1)
	if err == nil {
		t.Fatal("no error")
	}
}

func TestImportIfEmpty(t *testing.T) {
	ctx := context.Background()
	st := &fakeStore{}
	creds, created, err := ImportIfEmpty(ctx, st, DevFile(), t0)
	if err != nil || !created {
		t.Fatalf("first: created %v, %v", created, err)
	}
	if len(creds) != 1 || creds[0].Name != "Default App" || len(creds[0].ClientID) != 32 || len(creds[0].ClientSecret) != 43 {
		t.Fatalf("credentials = %+v", creds)
	}
	before := cloneState(st.state)

	creds, created, err = ImportIfEmpty(ctx, st, DevFile(), t1)
	if err != nil || created || len(creds) != 0 {
		t.Errorf("second: created %v, creds %v, %v", created, creds, err)
	}
	if !reflect.DeepEqual(before, st.state) {
		t.Error("second ImportIfEmpty changed the store")
	}

	tn := mustFromStore(t, st)
	c := tn.Clients[0]
	for _, name := range []string{"email", "sms"} {
		if conn := tn.Connection(name); conn == nil || !conn.EnabledFor(c.ClientID) {
			t.Errorf("%s not enabled for Default App", name)
		}
	}

	// A store that already has a client is left alone.
	other := &fakeStore{}
	mustImport(t, other, mustParse(t, "clients:\n  - {name: Mine}\n"), t0)
	if _, created, err := ImportIfEmpty(ctx, other, DevFile(), t1); err != nil || created || len(other.state.Clients) != 1 {
		t.Errorf("created %v, %v, clients %d", created, err, len(other.state.Clients))
	}
}

func TestCredentials_StringHidesTheSecret(t *testing.T) {
	c := Credentials{Name: "A", ClientID: "id", ClientSecret: "shh-secret"}
	if s := c.String(); bytes.Contains([]byte(s), []byte("shh")) {
		t.Errorf("String() = %q", s)
	}
	if s := c.LogValue().String(); bytes.Contains([]byte(s), []byte("shh")) {
		t.Errorf("LogValue() = %q", s)
	}
}

func TestClient_CheckSecret(t *testing.T) {
	c := &Client{SecretHash: HashSecret("right")}
	if !c.CheckSecret("right") || c.CheckSecret("wrong") || c.CheckSecret("") {
		t.Error("CheckSecret")
	}
	if (&Client{}).CheckSecret("") {
		t.Error("a client without a secret matched")
	}
}
