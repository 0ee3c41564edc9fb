package tenant

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// env is a getenv backed by a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var exportEnv = env(map[string]string{
	"MAIL_FROM":     "login@example.com",
	"TWILIO_TOKEN":  "twilio-token-value",
	"SMTP_HOSTNAME": "smtp.example.com",
	"SMTP_PORT":     "587",
	"SMTP_USER":     "mailer",
	"SMTP_PASS":     "smtp-pass-value",
	"SUPPORT_EMAIL": "help@example.com",
})

func mustLoad(t *testing.T, path string, getenv func(string) string) (*File, []string) {
	t.Helper()
	f, warnings, err := LoadFile(path, getenv)
	if err != nil {
		t.Fatalf("LoadFile(%s): %v", path, err)
	}
	return f, warnings
}

func parse(t *testing.T, yaml string, getenv func(string) string) (*File, []string, error) {
	t.Helper()
	return ParseFile("tenant.yaml", []byte(yaml), t.TempDir(), getenv)
}

func TestLoadFile_ExportLoadsWithOneWarningPerIgnoredThing(t *testing.T) {
	f, warnings := mustLoad(t, "testdata/export/tenant.yaml", exportEnv)

	want := []string{
		`section "pages" is not implemented yet; ignored`,
		`section "databases" is not implemented yet; ignored`,
		`section "tenant" is not implemented yet; ignored`,
		`section "emailTemplates" is not implemented yet; ignored`,
		`section "guardianFactors" is not implemented yet; ignored`,
		`section "attackProtection" is not implemented yet; ignored`,
		`clients[My App]: field "custom_login_page_on" is not implemented yet; ignored`,
		`clients[Mobile]: field "sso" is not implemented yet; ignored`,
		`connections[google-oauth2]: strategy "google-oauth2" is not implemented yet; ignored`,
		`resourceServers[https://api.example.com/orders]: field "token_dialect" is not implemented yet; ignored`,
		`placeholder ##CONNECTIONS_GOOGLE_OAUTH2_SECRET## is not set in the environment; left as is`,
	}
	for _, w := range want {
		if !slices.Contains(warnings, w) {
			t.Errorf("missing warning %q", w)
		}
	}
	// Sections that are empty and fields left at their zero value ask for
	// nothing, so they are not reported.
	for _, w := range warnings {
		for _, quiet := range []string{`"rules"`, `"logStreams"`, `"roles"`, `"allowed_clients"`, `"sso_disabled"`, `"native_social_login"`, `"client_aliases"`, `"enforce_policies"`} {
			if strings.Contains(w, quiet) {
				t.Errorf("unexpected warning %q", w)
			}
		}
		if strings.Contains(w, "value") && (strings.Contains(w, "twilio-token") || strings.Contains(w, "smtp-pass")) {
			t.Errorf("warning leaks a secret: %q", w)
		}
	}
	if n := len(warnings); n != len(slices.Compact(slices.Sorted(slices.Values(warnings)))) {
		t.Errorf("duplicate warnings: %q", warnings)
	}

	tn := f.Tenant()
	if got := len(tn.Clients); got != 3 {
		t.Fatalf("clients = %d, want 3", got)
	}
	email := tn.Connection("email")
	if email == nil || email.Options.Email == nil {
		t.Fatalf("email connection: %+v", email)
	}
	if !strings.Contains(email.Options.Email.Body, "{{ code }}") || !strings.Contains(email.Options.Email.Body, "help@example.com") {
		t.Errorf("email body not read from connections/email.html with placeholders replaced: %q", email.Options.Email.Body)
	}
	if email.Options.Email.From != "{{ application.name }} <login@example.com>" {
		t.Errorf("from = %q", email.Options.Email.From)
	}
	if !slices.Equal(email.EnabledClients, []string{"Mobile", "My App"}) {
		t.Errorf("enabled_clients = %q (names until import)", email.EnabledClients)
	}
	sms := tn.Connection("sms")
	if sms.Options.Template != "Your code for {{ application.name }} is @@password@@" {
		t.Errorf("sms template = %q", sms.Options.Template)
	}
	if sms.Options.BruteForceProtection || !sms.Options.DisableSignup || sms.Options.TOTP.TimeStep != 300 {
		t.Errorf("sms options = %+v", sms.Options)
	}
	ep := tn.EmailProvider
	if ep == nil || ep.Credentials.SMTPPort != 587 || ep.Credentials.SMTPHost != "smtp.example.com" || ep.Credentials.SMTPPass != "smtp-pass-value" {
		t.Errorf("email provider = %+v", ep)
	}
	if backend := tn.Clients[2]; backend.Name != "Backend" || backend.JWTConfiguration.LifetimeInSeconds != 36000 {
		t.Errorf("lifetime_in_seconds given as a string: %s %+v", backend.Name, backend.JWTConfiguration)
	}
	if tn.ClientGrant("Backend", "https://example.eu.auth0.com/api/v2/") == nil {
		t.Error("grant to the Management API audience missing")
	}
}

func TestParseFile_JSON(t *testing.T) {
	data, err := os.ReadFile("testdata/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	getenv := env(map[string]string{"SPA_CALLBACKS": `["https://spa.example.com/cb", "http://localhost:3000/cb"]`})
	for _, name := range []string{"tenant.json", "tenant.conf"} { // by extension, then by content
		t.Run(name, func(t *testing.T) {
			f, warnings, err := ParseFile(name, data, t.TempDir(), getenv)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(warnings, `section "pages" is not implemented yet; ignored`) {
				t.Errorf("warnings = %q", warnings)
			}
			tn := f.Tenant()
			spa := tn.Clients[0]
			if !slices.Equal(spa.Callbacks, []string{"https://spa.example.com/cb", "http://localhost:3000/cb"}) {
				t.Errorf("callbacks from @@SPA_CALLBACKS@@ = %q", spa.Callbacks)
			}
			if !spa.IsPublic() || spa.TokenEndpointAuthMethod != AuthNone {
				t.Errorf("spa auth method = %q", spa.TokenEndpointAuthMethod)
			}
			if totp := tn.Connections[0].Options.TOTP; totp != (TOTP{Length: 8, TimeStep: 600}) {
				t.Errorf("totp = %+v", totp)
			}
		})
	}
}

func TestParseFile_Errors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"typo in a field", `
clients:
  - name: My App
    grant_type: [implicit]`,
			[]string{`tenant.yaml: clients[0] "My App": unknown field "grant_type"`}},
		{"typo in a nested field", `
connections:
  - name: email
    strategy: email
    options: {totp: {lenght: 6}}`,
			[]string{`tenant.yaml: connections[0] "email": unknown field "options.totp.lenght"`}},
		{"string for a list", `
clients:
  - name: My App
    callbacks: "https://app.example.com/cb"`,
			[]string{`clients[0] "My App": field "callbacks": want a list of strings, got a string`}},
		{"string for an integer", `
connections:
  - name: email
    strategy: email
    options: {totp: {length: "six"}}`,
			[]string{`connections[0] "email": field "options.totp.length": want an integer, got a string`}},
		{"number in a list of strings", `
clients:
  - name: A
    grant_types: [implicit, 3]`,
			[]string{`field "grant_types[1]": want a string, got a number`}},
		{"unknown enabled client", `
clients:
  - name: A
connections:
  - name: email
    strategy: email
    enabled_clients: [A, Nope]`,
			[]string{`connections[0] "email": field "enabled_clients[1]": unknown client "Nope"`}},
		{"client without name", `
clients:
  - app_type: spa`,
			[]string{`clients[0]: missing name`}},
		{"connection without name or strategy", `
connections:
  - options: {}`,
			[]string{`connections[0]: missing name`, `connections[0]: missing strategy`}},
		{"duplicate names", `
clients:
  - name: A
  - name: A
connections:
  - {name: email, strategy: email}
  - {name: email, strategy: sms}`,
			[]string{`clients[1] "A": duplicate name (also clients[0])`, `connections[1] "email": duplicate name (also connections[0])`}},
		{"bad enums", `
clients:
  - name: A
    app_type: web
    token_endpoint_auth_method: secret
    grant_types: [implicit, magic]
    refresh_token: {rotation_type: sometimes}`,
			[]string{`field "app_type": unknown value "web"`, `field "token_endpoint_auth_method": unknown value "secret"`,
				`field "grant_types[1]": unknown grant type "magic"`, `field "refresh_token.rotation_type": want rotating or non-rotating, got "sometimes"`}},
		{"code length and lifetime", `
connections:
  - name: email
    strategy: email
    options: {totp: {length: 3, time_step: 0}}
  - name: sms
    strategy: sms
    options: {totp: {length: 11}}`,
			[]string{`connections[0] "email": field "options.totp.length": must be between 4 and 10`,
				`connections[0] "email": field "options.totp.time_step": must be positive`,
				`connections[1] "sms": field "options.totp.length": must be between 4 and 10`}},
		{"relative callback", `
clients:
  - name: A
    callbacks: [/callback, "https://ok.example.com/cb"]`,
			[]string{`field "callbacks[0]": "/callback" is not an absolute URL`}},
		{"grant to unknown client and audience", `
clients:
  - name: A
resourceServers:
  - identifier: https://api.example.com/
clientGrants:
  - client_id: B
    audience: https://api.example.com/
  - client_id: A
    audience: https://other.example.com/`,
			[]string{`clientGrants[0] "B https://api.example.com/": field "client_id": unknown client "B"`,
				`clientGrants[1] "A https://other.example.com/": field "audience": no resource server has identifier "https://other.example.com/"`}},
		{"unknown section", `
client: []`,
			[]string{`tenant.yaml: unknown section "client"`}},
		{"section of the wrong type", `
clients: {name: A}`,
			[]string{`tenant.yaml: clients: want a list, got an object`}},
		{"unset placeholder where a number goes", `
emailProvider:
  name: smtp
  credentials: {smtp_host: smtp.example.com, smtp_port: '##SMTP_PORT##'}`,
			[]string{`emailProvider: field "credentials.smtp_port": want an integer, got placeholder ##SMTP_PORT##, which is not set`}},
		{"missing email body file", `
connections:
  - name: email
    strategy: email
    options: {email: {body: ./missing.html}}`,
			[]string{`connections[0] "email": field "options.email.body": file "./missing.html" not found`}},
		{"unknown email provider", `
emailProvider: {name: pigeon}`,
			[]string{`emailProvider: field "name": unknown provider "pigeon"`}},
		{"colour that is not #RGB or #RRGGBB", `
clients:
  - name: A
    sesame: {branding: {primary_color: "red;}body{background:url(//evil)"}}`,
			[]string{`clients[0] "A": field "sesame.branding.primary_color": want #RGB or #RRGGBB, got "red;}body{background:url(//evil)"`}},
		{"colour name", `
clients:
  - name: A
    sesame: {branding: {primary_color: red}}`,
			[]string{`field "sesame.branding.primary_color": want #RGB or #RRGGBB`}},
		{"typo in branding", `
clients:
  - name: A
    sesame: {branding: {primary_colour: "#fff"}}`,
			[]string{`unknown field "sesame.branding.primary_colour"`}},
		{"yaml syntax", "clients: [", []string{"tenant.yaml: yaml:"}},
		{"duplicate yaml key", "clients: []\nclients: []", []string{`duplicate key "clients"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parse(t, tt.yaml, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

func TestParseFile_ReportsEveryError(t *testing.T) {
	_, _, err := parse(t, `
clients:
  - name: A
    grant_type: [implicit]
  - name: B
    callbacks: x
connections:
  - name: email
    strategy: email
    enabled_clients: [C]`, nil)
	if err == nil {
		t.Fatal("no error")
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 3 {
		t.Errorf("got %d errors, want 3:\n%v", n, err)
	}
}

func TestParseFile_ErrorsNeverQuoteSecrets(t *testing.T) {
	_, _, err := parse(t, `
clients:
  - name: A
    client_secret: client-secret-value
    grant_type: []
connections:
  - name: sms
    strategy: sms
    options:
      twilio_token: [twilio-token-value]
      gateway_authentication: {secret: 42}
emailProvider:
  name: smtp
  credentials: {smtp_host: h, smtp_pass: {x: smtp-pass-value}}`, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"client-secret-value", "twilio-token-value", "smtp-pass-value", "42"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error contains %q:\n%v", s, err)
		}
	}
}

func TestParseFile_AcceptsWhatAuth0Accepts(t *testing.T) {
	f, warnings, err := parse(t, `
clients:
  - name: A
    client_id: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    callbacks:
      - https://*.example.com/callback
      - com.example.app://example.eu.auth0.com/android/com.example.app/callback
      - com.example.app:/oauth2redirect
      - http://localhost:3000/callback
    web_origins: ["https://*.example.com"]
    jwt_configuration: {lifetime_in_seconds: null}
    cross_origin_authentication: true
    addons: {samlp: {audience: urn:example, mappings: {email: http://schemas/email}}}
connections:
  - name: email
    strategy: email
    enabled_clients: [AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA]
  - name: corp
    strategy: samlp
    options: {signInEndpoint: https://idp.example.com/sso, anything: [1, 2]}
resourceServers:
  - identifier: https://api.example.com/
clientGrants:
  - client_id: A
    audience: https://api.example.com/
  - client_id: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    audience: https://tenant.example.com/api/v2/
emailProvider: {}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(warnings, `clients[A]: field "addons" is not implemented yet; ignored`) {
		t.Errorf("warnings = %q", warnings)
	}
	tn := f.Tenant()
	if !tn.Clients[0].CrossOriginAuth {
		t.Error("cross_origin_authentication not read as cross_origin_auth")
	}
	if tn.EmailProvider != nil {
		t.Error("emailProvider: {} (what a0deploy exports without a provider) gave a provider")
	}
}

func TestParseFile_CrossOriginSettings(t *testing.T) {
	f, warnings, err := parse(t, `
clients:
  - name: A
    client_id: A
    web_origins: ["https://app.example.com/", "https://app.example.com/login"]
    allowed_origins: ["https://cors.example.com"]
    cross_origin_auth: true
    cross_origin_loc: https://app.example.com/co-verify.html
  - name: B
    client_id: B
    cross_origin_authentication: true`, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		`clients[A]: web_origins[1] "https://app.example.com/login" is not an origin (http or https, a host, no path): it matches nothing`,
		`clients[B]: cross_origin_authentication is on but web_origins is empty: /co/authenticate refuses every origin`,
	} {
		if !slices.Contains(warnings, w) {
			t.Errorf("no warning %q in %q", w, warnings)
		}
	}
	if c := f.Tenant().Clients[0]; c.CrossOriginLoc != "https://app.example.com/co-verify.html" || !c.WebOriginAllowed("https://app.example.com") {
		t.Errorf("client A = %+v", c)
	}

	_, _, err = parse(t, `
clients:
  - name: A
    client_id: A
    cross_origin_loc: javascript:alert(1)`, nil)
	if err == nil || !strings.Contains(err.Error(), `"cross_origin_loc"`) {
		t.Errorf("cross_origin_loc javascript: gave %v", err)
	}
}

func TestParseFile_Placeholders(t *testing.T) {
	f, warnings, err := parse(t, `
clients:
  - name: "##APP##"
    description: "##UNSET## and ##UNSET## again"
    callbacks: @@CALLBACKS@@
connections:
  - name: sms
    strategy: sms
    options:
      template: "Code: @@password@@ (@@ALSO_UNSET@@)"`, env(map[string]string{
		"APP":       "Shop",
		"CALLBACKS": `["https://shop.example.com/cb"]`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(warnings, []string{"placeholder ##UNSET## is not set in the environment; left as is"}) {
		t.Errorf("warnings = %q", warnings)
	}
	tn := f.Tenant()
	c := tn.Clients[0]
	if c.Name != "Shop" || !slices.Equal(c.Callbacks, []string{"https://shop.example.com/cb"}) {
		t.Errorf("client = %q %q", c.Name, c.Callbacks)
	}
	if got := tn.Connections[0].Options.Template; got != "Code: @@password@@ (@@ALSO_UNSET@@)" {
		t.Errorf("template = %q", got)
	}
}

func TestParseFile_PlainStringPlaceholderBecomesJSONString(t *testing.T) {
	f, _, err := parse(t, "clients:\n  - name: '@@NAME@@'\n", env(map[string]string{"NAME": "It's: \"quoted\""}))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Tenant().Clients[0].Name; got != `It's: "quoted"` {
		t.Errorf("name = %q", got)
	}
}

func TestParseFile_BodyFileBesideTheTenantFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "body.liquid"), []byte("<p>{{ code }}</p>"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := "connections:\n  - {name: email, strategy: email, options: {email: {body: body.liquid}}}\n"
	f, _, err := ParseFile(filepath.Join(dir, "tenant.yaml"), []byte(yaml), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Tenant().Connections[0].Options.Email.Body; got != "<p>{{ code }}</p>" {
		t.Errorf("body = %q", got)
	}
}

func TestParseFile_Defaults(t *testing.T) {
	f, _, err := parse(t, `
clients:
  - name: Web
  - name: SPA
    app_type: spa
  - name: M2M
    app_type: non_interactive
    refresh_token: {rotation_type: rotating, expiration_type: expiring}
connections:
  - {name: email, strategy: email}
  - {name: sms, strategy: sms, options: {brute_force_protection: false, totp: {length: 4}}}
resourceServers:
  - identifier: https://api.example.com/
  - identifier: https://short.example.com/
    token_lifetime: 600
    signing_alg: HS256`, nil)
	if err != nil {
		t.Fatal(err)
	}
	tn := f.Tenant()
	web, spa, m2m := tn.Clients[0], tn.Clients[1], tn.Clients[2]
	if web.AppType != AppRegularWeb || web.TokenEndpointAuthMethod != AuthClientSecretPost || web.IsPublic() {
		t.Errorf("web = %s %s", web.AppType, web.TokenEndpointAuthMethod)
	}
	if want := []string{GrantImplicit, GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials}; !slices.Equal(web.GrantTypes, want) {
		t.Errorf("web grants = %q", web.GrantTypes)
	}
	if web.AllowsGrant(GrantPasswordlessOTP) {
		t.Error("the passwordless grant must be asked for")
	}
	if want := []string{GrantImplicit, GrantAuthorizationCode, GrantRefreshToken}; !spa.IsPublic() || !slices.Equal(spa.GrantTypes, want) {
		t.Errorf("spa = %s %q", spa.TokenEndpointAuthMethod, spa.GrantTypes)
	}
	if j := web.JWTConfiguration; j.LifetimeInSeconds != 36000 || j.Alg != "RS256" {
		t.Errorf("jwt = %+v", j)
	}
	r := web.RefreshToken
	if r.RotationType != "non-rotating" || r.ExpirationType != "non-expiring" || r.Leeway != 0 ||
		r.TokenLifetime != 2592000 || r.IdleTokenLifetime != 1296000 || !*r.InfiniteTokenLifetime {
		t.Errorf("refresh_token = %+v", r)
	}
	if r := m2m.RefreshToken; r.RotationType != "rotating" || *r.InfiniteTokenLifetime || r.TokenLifetime != 2592000 {
		t.Errorf("m2m refresh_token = %+v", r)
	}

	email, sms := tn.Connections[0], tn.Connections[1]
	if o := email.Options; o.TOTP != (TOTP{6, 180}) || !o.BruteForceProtection || o.DisableSignup {
		t.Errorf("email options = %+v", o)
	}
	if !slices.Equal(email.Realms, []string{"email"}) {
		t.Errorf("realms = %q", email.Realms)
	}
	if o := sms.Options; o.TOTP != (TOTP{4, 180}) || o.BruteForceProtection {
		t.Errorf("sms options = %+v (brute_force_protection: false must stay false)", o)
	}

	api, short := tn.ResourceServers[0], tn.ResourceServers[1]
	if api.TokenLifetime != 86400 || api.TokenLifetimeForWeb != 7200 || api.SigningAlg != "RS256" {
		t.Errorf("api = %+v", api)
	}
	if short.TokenLifetime != 600 || short.TokenLifetimeForWeb != 600 || short.SigningAlg != "HS256" {
		t.Errorf("short = %+v", short)
	}
}

func TestDevFile(t *testing.T) {
	tn := DevFile().Tenant()
	if len(tn.Clients) != 1 || len(tn.Connections) != 2 || tn.EmailProvider != nil {
		t.Fatalf("dev tenant = %+v", tn)
	}
	c := tn.Clients[0]
	wantGrants := []string{GrantPasswordlessOTP, GrantAuthorizationCode, GrantImplicit, GrantRefreshToken}
	if c.Name != "Default App" || c.AppType != AppRegularWeb || c.TokenEndpointAuthMethod != AuthClientSecretPost ||
		!slices.Equal(c.GrantTypes, wantGrants) || len(c.Callbacks) != 3 {
		t.Errorf("client = %+v", c)
	}
	for i, want := range []string{"email", "sms"} {
		conn := tn.Connections[i]
		if conn.Name != want || conn.Strategy != want || !slices.Equal(conn.EnabledClients, []string{"Default App"}) {
			t.Errorf("connection %d = %+v", i, conn)
		}
	}
}

func TestParseFile_EmptyFile(t *testing.T) {
	for _, data := range []string{"", "# nothing\n", "{}", "null"} {
		f, warnings, err := parse(t, data, nil)
		if err != nil || len(warnings) != 0 || len(f.Tenant().Clients) != 0 {
			t.Errorf("%q: %v %q", data, err, warnings)
		}
	}
}

// signing_alg and jwt_configuration.alg take what Auth0 takes, and ES256,
// which Sesame signs with; anything else is a typo.
func TestParseFile_SigningAlgorithms(t *testing.T) {
	f, _, err := parse(t, `
clients:
  - {name: A, jwt_configuration: {alg: ES256}}
  - {name: B, jwt_configuration: {alg: HS256}}
  - {name: C, jwt_configuration: {alg: PS256}}
resourceServers:
  - {identifier: "https://es.example.com/", signing_alg: ES256}
  - {identifier: "https://hs.example.com/", signing_alg: HS256}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	tn := f.Tenant()
	for i, want := range []string{"ES256", "HS256", "PS256"} {
		if got := tn.Clients[i].JWTConfiguration.Alg; got != want {
			t.Errorf("client %d alg = %q, want %q", i, got, want)
		}
	}
	if got := tn.ResourceServers[0].SigningAlg; got != "ES256" {
		t.Errorf("signing_alg = %q, want ES256", got)
	}

	_, _, err = parse(t, `
clients:
  - {name: A, jwt_configuration: {alg: none}}
resourceServers:
  - {identifier: "https://x.example.com/", signing_alg: RS512}`, nil)
	for _, want := range []string{`field "jwt_configuration.alg": unknown value "none"`, `field "signing_alg": unknown value "RS512"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to say %s", err, want)
		}
	}
}

func TestParseFile_ClientBranding(t *testing.T) {
	f, warnings, err := parse(t, `
clients:
  - name: A
    logo_uri: https://a.example.com/logo.svg
    sesame: {branding: {primary_color: "#0B57D0"}}
  - name: B
    logo_uri: http://b.example.com/logo.png
    sesame: {branding: {primary_color: "#abc"}}
  - name: C`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`clients[B]: logo_uri "http://b.example.com/logo.png" is not an https URL; the login page shows no logo`}; !slices.Equal(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
	tn := f.Tenant()
	for i, want := range []struct{ logo, color string }{
		{"https://a.example.com/logo.svg", "#0B57D0"},
		{"http://b.example.com/logo.png", "#abc"},
		{"", ""},
	} {
		if c := tn.Clients[i]; c.LogoURI != want.logo || c.PrimaryColor() != want.color {
			t.Errorf("%s: logo %q colour %q, want %q %q", c.Name, c.LogoURI, c.PrimaryColor(), want.logo, want.color)
		}
	}
}

func TestValidColor(t *testing.T) {
	for s, want := range map[string]bool{
		"#fff": true, "#FFF": true, "#0b57d0": true, "#0B57D0": true,
		"": false, "fff": false, "#ffff": false, "#fffff": false, "#fffffff": false,
		"#ggg": false, "red": false, "#fff;": false, "#fff}": false, "#ff\\66": false,
		"rgb(0,0,0)": false, "#٠٠٠": false,
	} {
		if got := ValidColor(s); got != want {
			t.Errorf("ValidColor(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseFile_LoginPageSend(t *testing.T) {
	for value, ok := range map[string]bool{"code": true, "link": true, "sms": false, "Link": false} {
		_, _, err := ParseFile("tenant.yaml", []byte(`
connections:
  - name: email
    strategy: email
    options:
      sesame: {login_page_send: `+value+`}
`), t.TempDir(), func(string) string { return "" })
		if (err == nil) != ok {
			t.Errorf("login_page_send %q: %v", value, err)
		}
	}
}
