package tenant

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// body decodes a JSON object as the Management API will: numbers as
// json.Number.
func body(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body %s: %v", s, err)
	}
	return m
}

// validateAny runs the entry point of one section on m.
func validateAny(section string, m map[string]any) ([]string, error) {
	switch section {
	case sectionClients:
		_, w, err := ValidateClient(m)
		return w, err
	case sectionConnections:
		_, w, err := ValidateConnection(m)
		return w, err
	case sectionResourceServers:
		_, w, err := ValidateResourceServer(m)
		return w, err
	case sectionClientGrants:
		_, w, err := ValidateClientGrant(m)
		return w, err
	case sectionEmailProvider:
		_, w, err := ValidateEmailProvider(m)
		return w, err
	}
	panic("unknown section " + section)
}

// TestValidate_SameMessagesAsTheTenantFile: an object sent alone (a
// Management API body) gets exactly the errors and warnings it gets as the
// first object of its section in a tenant file, without the file's place.
func TestValidate_SameMessagesAsTheTenantFile(t *testing.T) {
	tests := []struct {
		name     string
		section  string
		object   string
		where    string // the object's place in the file's errors
		warnedAs string // and in its warnings
		context  string // other sections of the file, so that references resolve
		problems int
	}{
		{"client with a typo, a bad enum, a relative callback and a bad number", sectionClients,
			`{"name": "My App", "grant_type": ["implicit"], "app_type": "web", "callbacks": ["/cb", "https://ok.example.com/cb"],
			  "jwt_configuration": {"lifetime_in_seconds": "soon"}, "sso": true, "sesame": {"branding": {"primary_color": "red"}}}`,
			`clients[0] "My App"`, `clients[My App]`, ``, 5},
		{"client without a name, with a bad client_id", sectionClients,
			`{"client_id": "has spaces", "refresh_token": {"rotation_type": "sometimes", "leeway": -1}, "logo_uri": "http://x.example.com/l.png"}`,
			`clients[0]`, `clients[0]`, ``, 4},
		{"email connection with bad options", sectionConnections,
			`{"name": "email", "strategy": "email", "show_as_button": true,
			  "options": {"totp": {"length": 3, "lenght": 6}, "email": {"syntax": "mustache"}, "sesame": {"login_page_send": "sms"}}}`,
			`connections[0] "email"`, `connections[email]`, ``, 5},
		{"sms connection with a relative gateway", sectionConnections,
			`{"name": "sms", "strategy": "sms", "options": {"provider": "sms_gateway", "gateway_url": "/send", "syntax": "plain", "twilio_token": 42}}`,
			`connections[0] "sms"`, `connections[sms]`, ``, 3},
		{"connection without a strategy", sectionConnections,
			`{"name": "x", "enabled_clients": "A"}`,
			`connections[0] "x"`, `connections[x]`, ``, 2},
		{"resource server", sectionResourceServers,
			`{"identifier": "https://api.example.com/", "signing_alg": "RS512", "scopes": [{"description": "no value"}], "token_lifetime": -1, "token_dialect": "access_token", "is_system": false}`,
			`resourceServers[0] "https://api.example.com/"`, `resourceServers[https://api.example.com/]`, ``, 3},
		{"client grant", sectionClientGrants,
			`{"client_id": "A", "audience": "https://t.example.com/api/v2/", "scope": "read:clients", "allow_any_organization": true}`,
			`clientGrants[0] "A https://t.example.com/api/v2/"`, `clientGrants[A https://t.example.com/api/v2/]`,
			`"clients": [{"name": "A"}]`, 1},
		{"client grant without an audience", sectionClientGrants,
			`{"client_id": "A"}`,
			`clientGrants[0]`, `clientGrants[0]`, `"clients": [{"name": "A"}]`, 1},
		{"email provider", sectionEmailProvider,
			`{"name": "smtp", "credentials": {"smtp_port": 70000, "smtp_pass": ["hidden"]}}`,
			`emailProvider`, `emailProvider`, ``, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			warnings, err := validateAny(tt.section, body(t, tt.object))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("error %v (%T), want a *ValidationError", err, err)
			}
			if len(verr.Problems) != tt.problems {
				t.Errorf("%d problems, want %d:\n%s", len(verr.Problems), tt.problems, verr)
			}

			var section string
			if tt.section == sectionEmailProvider {
				section = fmt.Sprintf("%q: %s", tt.section, tt.object)
			} else {
				section = fmt.Sprintf("%q: [%s]", tt.section, tt.object)
			}
			if tt.context != "" {
				section += ", " + tt.context
			}
			_, fileWarnings, fileErr := ParseFile("tenant.json", []byte("{"+section+"}"), t.TempDir(), nil)
			if fileErr == nil {
				t.Fatal("the tenant file has no error")
			}
			var want []string
			for _, p := range verr.Problems {
				want = append(want, "tenant.json: "+tt.where+": "+p)
			}
			if got := strings.Split(fileErr.Error(), "\n"); !slices.Equal(got, want) {
				t.Errorf("tenant file errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			want = nil
			for _, w := range warnings {
				want = append(want, tt.warnedAs+": "+w)
			}
			if !slices.Equal(fileWarnings, want) {
				t.Errorf("tenant file warnings %q, want %q", fileWarnings, want)
			}
		})
	}
}

func TestValidateClient_DocumentToStoreAndValueWithDefaults(t *testing.T) {
	v, warnings, err := ValidateClient(body(t, `{
		"name": "Shop", "client_secret": "shop-secret-value", "callbacks": null, "owners": ["someone"],
		"jwt_configuration": {"lifetime_in_seconds": " 600 "}, "addons": {"samlp": {}}, "custom_login_page_on": true}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`field "custom_login_page_on" is not implemented yet; ignored`, `field "owners" is read-only; ignored`}; !slices.Equal(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
	want := map[string]any{
		"name":                 "Shop",
		"jwt_configuration":    map[string]any{"lifetime_in_seconds": json.Number("600")},
		"addons":               map[string]any{"samlp": map[string]any{}},
		"custom_login_page_on": true,
	}
	if !reflect.DeepEqual(v.Doc, want) {
		t.Errorf("doc = %#v\nwant  %#v (no secret, no null, no read-only field, the number as a number)", v.Doc, want)
	}
	if bytes.Contains(mustJSON(v.Doc), []byte("shop-secret-value")) {
		t.Error("the document holds the secret")
	}
	c := v.Value
	if !c.CheckSecret("shop-secret-value") || c.Name != "Shop" || c.AppType != AppRegularWeb ||
		c.JWTConfiguration.LifetimeInSeconds != 600 || c.RefreshToken.TokenLifetime != defaultRefreshLifetime {
		t.Errorf("value = %+v", c)
	}
}

// What only a tenant file does, a body does not: no email body is read
// from a file, and a ##NAME## string is a string like any other.
func TestValidate_NoFileHandling(t *testing.T) {
	v, _, err := ValidateConnection(body(t, `{"name": "email", "strategy": "email", "options": {"email": {"body": "./email.html"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Value.Options.Email.Body; got != "./email.html" {
		t.Errorf("body = %q, want it as given", got)
	}
	_, _, err = ValidateEmailProvider(body(t, `{"name": "smtp", "credentials": {"smtp_host": "h", "smtp_port": "##SMTP_PORT##"}}`))
	if err == nil || err.Error() != `field "credentials.smtp_port": want an integer, got a string` {
		t.Errorf("error %v", err)
	}
}

func TestValidate_ValidObjects(t *testing.T) {
	if v, w, err := ValidateConnection(body(t, `{"name": "sms", "strategy": "sms", "enabled_clients": ["id1"], "options": {"totp": {"length": 8}}}`)); err != nil || len(w) != 0 ||
		v.Value.Options.TOTP != (TOTP{8, defaultCodeLifetime}) || !v.Value.Options.BruteForceProtection || !slices.Equal(v.Value.Realms, []string{"sms"}) {
		t.Errorf("sms connection: %+v %q %v", v.Value, w, err)
	}
	if v, w, err := ValidateResourceServer(body(t, `{"identifier": "https://api.example.com/", "scopes": [{"value": "read:orders"}]}`)); err != nil || len(w) != 0 ||
		v.Value.TokenLifetime != defaultAccessTokenLifetime || v.Value.SigningAlg != defaultSigningAlg {
		t.Errorf("resource server: %+v %q %v", v.Value, w, err)
	}
	if v, w, err := ValidateClientGrant(body(t, `{"client_id": "id1", "audience": "https://api.example.com/"}`)); err != nil || len(w) != 0 ||
		v.Value.Scope == nil || v.Value.ClientID != "id1" {
		t.Errorf("client grant: %+v %q %v", v.Value, w, err)
	}
	if v, w, err := ValidateEmailProvider(body(t, `{"name": "smtp", "credentials": {"smtp_host": "smtp.example.com", "smtp_port": "587"}}`)); err != nil || len(w) != 0 ||
		v.Value.Credentials.SMTPPort != 587 {
		t.Errorf("email provider: %+v %q %v", v.Value, w, err)
	}
}

// TestCheckTenant_StoredTenant: a stored tenant refers to clients by
// client_id; the checks are the tenant file's.
func TestCheckTenant_StoredTenant(t *testing.T) {
	tn := &Tenant{
		Clients: []*Client{{ClientID: "id1", Name: "A"}, {ClientID: "id2", Name: "B"}, {ClientID: "id1", Name: "C"}, {ClientID: "id3", Name: "B"}},
		Connections: []*Connection{
			{Name: "email", EnabledClients: []string{"id1", "gone"}},
			{Name: "email"},
		},
		ResourceServers: []*ResourceServer{{Identifier: "https://api.example.com/"}, {Identifier: "https://api.example.com/"}},
		ClientGrants: []*ClientGrant{
			{ClientID: "id1", Audience: "https://api.example.com/"},
			{ClientID: "A", Audience: "https://api.example.com/"}, // the same client, by name
			{ClientID: "id9", Audience: "https://other.example.com/"},
			{ClientID: "id2", Audience: "https://tenant.example.com/api/v2/"},
		},
	}
	want := []Conflict{
		{sectionClients, 2, "duplicate client_id (also clients[0])"},
		{sectionClients, 3, "duplicate name (also clients[1])"},
		{sectionConnections, 0, `field "enabled_clients[1]": unknown client "gone"`},
		{sectionConnections, 1, "duplicate name (also connections[0])"},
		{sectionResourceServers, 1, "duplicate identifier (also resourceServers[0])"},
		{sectionClientGrants, 1, "duplicate grant (also clientGrants[0])"},
		{sectionClientGrants, 2, `field "client_id": unknown client "id9"`},
		{sectionClientGrants, 2, `field "audience": no resource server has identifier "https://other.example.com/"`},
	}
	if got := CheckTenant(tn); !slices.Equal(got, want) {
		t.Errorf("conflicts:\n%v\nwant\n%v", got, want)
	}
	if got := CheckTenant(DevFile().Tenant()); len(got) != 0 {
		t.Errorf("the development tenant has conflicts: %v", got)
	}
}
