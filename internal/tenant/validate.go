package tenant

import (
	"fmt"
	"strings"
)

// This file holds Auth0's rules for each kind of object, shared by the tenant
// file (file.go) and the Management API: ValidateClient and its siblings
// check one object on its own (through the schema walker, schema.go, and the
// rules below), CheckTenant what needs the whole tenant (names that must be
// unique, references between objects).

// ValidationError is every problem found in one object.
type ValidationError struct {
	// Problems each name the field they are about, as the tenant file's
	// errors do without the file's place in front (`tenant.yaml: clients[0]
	// "My App": `): `unknown field "grant_type"`, `field "callbacks[0]":
	// "/cb" is not an absolute URL`, `missing name`.
	Problems []string
}

func (e *ValidationError) Error() string { return strings.Join(e.Problems, "\n") }

// Checked is an object that passed validation.
type Checked[T any] struct {
	// Doc is the document to store: the object as given, less its null and
	// read-only fields, with integers given as strings made numbers. It
	// holds no defaults, so that a change of Auth0's defaults reaches stored
	// objects, and no client secret.
	Doc map[string]any
	// Value is the object Doc describes, with Auth0's defaults filled in.
	Value *T
}

// ValidateClient checks one client (application), a decoded JSON object in
// the Management API's shape (numbers decoded as json.Number): a POST
// /api/v2/clients body, or a PATCH body merged onto the stored client. It
// applies the tenant file's rules and gives its messages. A client_secret is
// hashed into Value.SecretHash and left out of Doc. Warnings list what the
// client asks for that Sesame does not do; the error is a
// *ValidationError listing every problem. What needs the other objects of
// the tenant (a unique name) is CheckTenant's.
func ValidateClient(m map[string]any) (Checked[Client], []string, error) {
	return validate(m, checkClient)
}

// ValidateConnection checks one connection as ValidateClient checks a
// client. The options of the email and sms strategies are checked field by
// field; other strategies are accepted with a warning. Enabled clients are
// CheckTenant's.
func ValidateConnection(m map[string]any) (Checked[Connection], []string, error) {
	return validate(m, checkConnection)
}

// ValidateResourceServer checks one resource server (API) as ValidateClient
// checks a client. A unique identifier is CheckTenant's.
func ValidateResourceServer(m map[string]any) (Checked[ResourceServer], []string, error) {
	return validate(m, checkResourceServer)
}

// ValidateClientGrant checks one client grant as ValidateClient checks a
// client. Whether its client and audience exist is CheckTenant's.
func ValidateClientGrant(m map[string]any) (Checked[ClientGrant], []string, error) {
	return validate(m, checkClientGrant)
}

// ValidateEmailProvider checks the email provider as ValidateClient checks a
// client.
func ValidateEmailProvider(m map[string]any) (Checked[EmailProvider], []string, error) {
	return validate(m, checkEmailProvider)
}

func validate[T any](m map[string]any, check func(*checker, map[string]any) Checked[T]) (Checked[T], []string, error) {
	var ck checker
	v := check(&ck, m)
	if err := ck.err(); err != nil {
		return Checked[T]{}, ck.warnings, err
	}
	return v, ck.warnings, nil
}

// The check functions below validate one object and return what they could
// read of it even when they found errors (Value is nil only when the
// document does not decode), so that the tenant file can still check the
// references to an object that has a bad field.

func checkClient(ck *checker, m map[string]any) Checked[Client] {
	doc := ck.check("", clientFields, m, true)
	secret, _ := doc["client_secret"].(string)
	delete(doc, "client_secret")
	if name, _ := doc["name"].(string); name == "" {
		ck.errorf("missing name")
	}
	if id, ok := doc["client_id"].(string); ok && (id == "" || strings.ContainsAny(id, " \t\r\n")) {
		ck.errorf("field \"client_id\": must be non-empty, without spaces")
	}
	// Fields with errors were left out of doc, so the checks below see
	// only what is valid, and report nothing twice.
	var c Client
	if err := decodeDoc(doc, &c); err != nil {
		ck.errorf("%v", err)
		return Checked[Client]{Doc: doc}
	}
	c.applyDefaults()
	if secret != "" {
		c.SecretHash = HashSecret(secret)
	}
	validateClient(ck, &c)
	return Checked[Client]{Doc: doc, Value: &c}
}

func checkConnection(ck *checker, m map[string]any) Checked[Connection] {
	fs := connectionFields
	if s, _ := m["strategy"].(string); s == "email" || s == "sms" {
		fs = passwordlessConnectionFields
	}
	doc := ck.check("", fs, m, true)
	if name, _ := doc["name"].(string); name == "" {
		ck.errorf("missing name")
	}
	strategy, _ := doc["strategy"].(string)
	if strategy == "" {
		ck.errorf("missing strategy")
	}
	opts, _ := doc["options"].(map[string]any)
	switch strategy {
	case "email":
		if opts != nil {
			doc["options"] = ck.check("options", emailOptionFields, opts, true)
		}
	case "sms":
		if opts != nil {
			doc["options"] = ck.check("options", smsOptionFields, opts, true)
		}
	case "":
	default:
		ck.warnf("strategy %q is not implemented yet; ignored", strategy)
	}
	c, err := decodeConnection(mustJSON(doc))
	if err != nil {
		ck.errorf("%v", err)
		return Checked[Connection]{Doc: doc}
	}
	c.applyDefaults()
	if strategy == "email" || strategy == "sms" {
		validateConnection(ck, c)
	}
	return Checked[Connection]{Doc: doc, Value: c}
}

func checkResourceServer(ck *checker, m map[string]any) Checked[ResourceServer] {
	doc := ck.check("", resourceServerFields, m, true)
	if id, _ := doc["identifier"].(string); id == "" {
		ck.errorf("missing identifier")
	}
	var rs ResourceServer
	if err := decodeDoc(doc, &rs); err != nil {
		ck.errorf("%v", err)
		return Checked[ResourceServer]{Doc: doc}
	}
	rs.applyDefaults()
	if !signingAlgs[rs.SigningAlg] {
		ck.errorf("field \"signing_alg\": unknown value %q", rs.SigningAlg)
	}
	if rs.TokenLifetime < 0 || rs.TokenLifetimeForWeb < 0 {
		ck.errorf("field \"token_lifetime\": must be positive")
	}
	for j, s := range rs.Scopes {
		if s.Value == "" {
			ck.errorf("field \"scopes[%d].value\": missing", j)
		}
	}
	return Checked[ResourceServer]{Doc: doc, Value: &rs}
}

func checkClientGrant(ck *checker, m map[string]any) Checked[ClientGrant] {
	doc := ck.check("", clientGrantFields, m, true)
	if client, _ := doc["client_id"].(string); client == "" {
		ck.errorf("missing client_id")
	}
	if aud, _ := doc["audience"].(string); aud == "" {
		ck.errorf("missing audience")
	}
	var g ClientGrant
	if err := decodeDoc(doc, &g); err != nil {
		ck.errorf("%v", err)
		return Checked[ClientGrant]{Doc: doc}
	}
	g.applyDefaults()
	return Checked[ClientGrant]{Doc: doc, Value: &g}
}

func checkEmailProvider(ck *checker, m map[string]any) Checked[EmailProvider] {
	doc := ck.check("", emailProviderFields, m, true)
	name, _ := doc["name"].(string)
	switch {
	case name == "":
		ck.errorf("missing name")
	case !emailProviders[name]:
		ck.errorf("field \"name\": unknown provider %q", name)
	case name != "smtp":
		ck.warnf("provider %q is not implemented yet (only smtp); ignored", name)
	}
	var ep EmailProvider
	if err := decodeDoc(doc, &ep); err != nil {
		ck.errorf("%v", err)
		return Checked[EmailProvider]{Doc: doc}
	}
	if name == "smtp" {
		if ep.Credentials.SMTPHost == "" && (ep.Enabled == nil || *ep.Enabled) {
			ck.errorf("missing credentials.smtp_host")
		}
		if ep.Credentials.SMTPPort < 0 || ep.Credentials.SMTPPort > 65535 {
			ck.errorf("field \"credentials.smtp_port\": not a port number")
		}
	}
	return Checked[EmailProvider]{Doc: doc, Value: &ep}
}

// validateClient holds Auth0's rules for the fields of a client that
// Sesame acts on, checked after defaults are applied.
func validateClient(ck *checker, c *Client) {
	if !appTypes[c.AppType] {
		ck.errorf("field \"app_type\": unknown value %q", c.AppType)
	} else if c.AppType != AppSPA && c.AppType != AppNative && c.AppType != AppRegularWeb && c.AppType != AppNonInteractive {
		ck.warnf("app_type %q is not implemented yet; treated as regular_web", c.AppType)
	}
	if !authMethods[c.TokenEndpointAuthMethod] {
		ck.errorf("field \"token_endpoint_auth_method\": unknown value %q", c.TokenEndpointAuthMethod)
	}
	for i, g := range c.GrantTypes {
		if !grantTypes[g] {
			ck.errorf("field \"grant_types[%d]\": unknown grant type %q", i, g)
		}
	}
	checkURLs(ck, "callbacks", c.Callbacks, false)
	checkURLs(ck, "allowed_logout_urls", c.AllowedLogoutURLs, false)
	checkURLs(ck, "web_origins", c.WebOrigins, true)
	checkURLs(ck, "allowed_origins", c.AllowedOrigins, true)
	for _, list := range []struct {
		name    string
		entries []string
	}{{"web_origins", c.WebOrigins}, {"allowed_origins", c.AllowedOrigins}} {
		for i, e := range list.entries {
			if absoluteURL(e, true) && !IsWebOrigin(e) {
				ck.warnf("%s[%d] %q is not an origin (http or https, a host, no path): it matches nothing", list.name, i, e)
			}
		}
	}
	if c.CrossOriginLoc != "" {
		if scheme, _, _, ok := splitURL(c.CrossOriginLoc); !ok || (scheme != "http" && scheme != "https") || strings.Contains(c.CrossOriginLoc, "*") {
			ck.errorf("field \"cross_origin_loc\": %q is not an http or https URL", c.CrossOriginLoc)
		}
	}
	if c.CrossOriginAuth && len(c.WebOrigins) == 0 {
		ck.warnf("cross_origin_authentication is on but web_origins is empty: /co/authenticate refuses every origin")
	}
	if c.LogoURI != "" && !strings.HasPrefix(c.LogoURI, "https://") {
		ck.warnf("logo_uri %q is not an https URL; the login page shows no logo", c.LogoURI)
	}
	if m := c.Mobile; m != nil {
		if m.IOS != nil {
			if id := m.IOS.AppBundleIdentifier; id != "" && !appIdentifier(id) {
				ck.errorf("field \"mobile.ios.app_bundle_identifier\": want letters, digits, dots, dashes and underscores, got %q", id)
			}
			if id := m.IOS.TeamID; id != "" && !appIdentifier(id) {
				ck.errorf("field \"mobile.ios.team_id\": want letters and digits, got %q", id)
			}
		}
		if m.Android != nil {
			if id := m.Android.AppPackageName; id != "" && !appIdentifier(id) {
				ck.errorf("field \"mobile.android.app_package_name\": want letters, digits, dots and underscores, got %q", id)
			}
		}
	}
	if color := c.PrimaryColor(); color != "" && !ValidColor(color) {
		ck.errorf("field \"sesame.branding.primary_color\": want #RGB or #RRGGBB, got %q", color)
	}
	if j := c.JWTConfiguration; j != nil {
		if !signingAlgs[j.Alg] {
			ck.errorf("field \"jwt_configuration.alg\": unknown value %q", j.Alg)
		}
		if j.LifetimeInSeconds <= 0 {
			ck.errorf("field \"jwt_configuration.lifetime_in_seconds\": must be positive")
		}
	}
	if r := c.RefreshToken; r != nil {
		if !rotationTypes[r.RotationType] {
			ck.errorf("field \"refresh_token.rotation_type\": want rotating or non-rotating, got %q", r.RotationType)
		}
		if !expirationTypes[r.ExpirationType] {
			ck.errorf("field \"refresh_token.expiration_type\": want expiring or non-expiring, got %q", r.ExpirationType)
		}
		if r.Leeway < 0 {
			ck.errorf("field \"refresh_token.leeway\": must not be negative")
		}
		if r.TokenLifetime <= 0 || r.IdleTokenLifetime <= 0 {
			ck.errorf("field \"refresh_token\": token_lifetime and idle_token_lifetime must be positive")
		}
	}
}

// appIdentifier reports whether s can be an iOS bundle identifier, an Apple
// team ID or an Android package name: the characters they allow, which
// also keep them safe in a URL path and in a JSON document.
func appIdentifier(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// checkURLs checks that every entry is an absolute URL. Auth0 allows a
// wildcard in the host (https://*.example.com/cb), so '*' is accepted
// anywhere; native apps use custom schemes (com.example.app://callback).
func checkURLs(ck *checker, name string, urls []string, origin bool) {
	for i, u := range urls {
		if !absoluteURL(u, origin) {
			ck.errorf("field \"%s[%d]\": %q is not an absolute URL", name, i, u)
		}
	}
}

// validateConnection holds Auth0's rules for the options of an email or sms
// connection, checked after defaults are applied.
func validateConnection(ck *checker, c *Connection) {
	if c.Name != "" && (len(c.Realms) != 1 || c.Realms[0] != c.Name) {
		// The realm of the OTP grant and /co/authenticate is the name.
		ck.errorf("field \"realms\": not supported: a passwordless connection's only realm is its name; only [%q] is accepted", c.Name)
	}
	t := c.Options.TOTP
	if t.Length < 4 || t.Length > 10 {
		ck.errorf("field \"options.totp.length\": must be between 4 and 10")
	}
	if t.TimeStep <= 0 {
		ck.errorf("field \"options.totp.time_step\": must be positive")
	}
	switch c.Strategy {
	case "email":
		if e := c.Options.Email; e != nil && e.Syntax != "" && e.Syntax != "liquid" {
			ck.errorf("field \"options.email.syntax\": want liquid, got %q", e.Syntax)
		}
		if so := c.Options.Sesame; so != nil && so.LoginPageSend != "" && so.LoginPageSend != "code" && so.LoginPageSend != "link" {
			ck.errorf("field \"options.sesame.login_page_send\": want code or link, got %q", so.LoginPageSend)
		}
	case "sms":
		if s := c.Options.Syntax; s != "" && !smsSyntaxes[s] {
			ck.errorf("field \"options.syntax\": want md_with_macros or liquid, got %q", s)
		}
		if u := c.Options.GatewayURL; u != "" && !absoluteURL(u, true) {
			ck.errorf("field \"options.gateway_url\": not an absolute URL")
		}
		if p := c.Options.Provider; p != "" && p != "twilio" && p != "sms_gateway" {
			ck.errorf("field \"options.provider\": want twilio or sms_gateway, got %q", p)
		}
		if ga := c.Options.GatewayAuthentication; ga != nil && ga.Method != "" && ga.Method != "bearer" {
			ck.errorf("field \"options.gateway_authentication.method\": not supported: the gateway gets a bearer JWT; only bearer is accepted, got %q", ga.Method)
		}
		if s := c.Options.Strategy; s != "" && s != "sms" {
			ck.errorf("field \"options.strategy\": the connection's strategy is sms, got %q", s)
		}
		if so := c.Options.Sesame; so != nil && so.ProviderTimeout != 0 && (so.ProviderTimeout < 1 || so.ProviderTimeout > MaxProviderTimeout) {
			ck.errorf("field \"options.sesame.provider_timeout\": want 1 to %d seconds, got %d", MaxProviderTimeout, so.ProviderTimeout)
		}
	}
}

// MaxProviderTimeout is the longest options.sesame.provider_timeout, in
// seconds: Auth0's own timeout for a custom SMS gateway (spec §5.5). A
// connection may wait for its provider less long, never longer, since the
// /passwordless/start request waits with it.
const MaxProviderTimeout = 30

// Values Auth0 accepts (spec §7 and the Management API reference).
var (
	appTypes = set(AppSPA, AppNative, AppRegularWeb, AppNonInteractive, "resource_server",
		"express_configuration", "sso_integration", "oag", "rms", "box", "cloudbees", "concur",
		"dropbox", "mscrm", "echosign", "egnyte", "newrelic", "office365", "salesforce",
		"sentry", "sharepoint", "slack", "springcm", "zendesk", "zoom")
	authMethods = set(AuthNone, AuthClientSecretPost, AuthClientSecretBasic, AuthPrivateKeyJWT)
	grantTypes  = set(GrantImplicit, GrantAuthorizationCode, GrantClientCredentials, "password",
		GrantRefreshToken, "urn:ietf:params:oauth:grant-type:device_code",
		"http://auth0.com/oauth/grant-type/password-realm",
		"http://auth0.com/oauth/grant-type/mfa-oob",
		"http://auth0.com/oauth/grant-type/mfa-otp",
		"http://auth0.com/oauth/grant-type/mfa-recovery-code",
		GrantPasswordlessOTP,
		"http://auth0.com/oauth/legacy/grant-type/ro",
		"http://auth0.com/oauth/legacy/grant-type/ro/jwt-bearer",
		"http://auth0.com/oauth/legacy/grant-type/delegation/refresh_token",
		"http://auth0.com/oauth/legacy/grant-type/delegation/id_token",
		"http://auth0.com/oauth/legacy/grant-type/access_token")
	signingAlgs     = set("RS256", "ES256", "HS256", "PS256")
	rotationTypes   = set("rotating", "non-rotating")
	expirationTypes = set("expiring", "non-expiring")
	emailProviders  = set("mandrill", "ses", "sendgrid", "sparkpost", "mailgun", "smtp", "azure_cs", "ms365", "custom")
	smsSyntaxes     = set("md_with_macros", "liquid")
)

func set(values ...string) map[string]bool {
	m := make(map[string]bool, len(values))
	for _, v := range values {
		m[v] = true
	}
	return m
}

// Conflict is a problem between objects of one tenant: two objects that may
// not share a name, or a reference to an object the tenant does not have.
type Conflict struct {
	// Section is the list the object is in, named as in the tenant file:
	// clients, connections, resourceServers or clientGrants.
	Section string
	// Index is the object's position in that list of the Tenant.
	Index int
	// Message says what is wrong, naming the field when there is one:
	// `field "audience": no resource server has identifier "https://x/"`,
	// `duplicate name (also clients[0])`.
	Message string
}

// CheckTenant returns every conflict between the objects of t, in the order
// of its lists: clients with the same name or client_id, connections with
// the same name, resource servers with the same identifier, two grants of
// one client to one audience, and references to a client or an audience
// that t does not have. Each object is expected to have passed its own
// validation (ValidateClient and its siblings); a name or reference an
// object lacks is left to that.
//
// A client is referred to by name or by client_id: a tenant file names
// clients before they are imported, a stored tenant and the Management API
// use client_ids. An audience ending in /api/v2/ is the Management API's,
// which needs no resource server.
func CheckTenant(t *Tenant) []Conflict {
	var out []Conflict
	add := func(section string, i int, format string, args ...any) {
		out = append(out, Conflict{Section: section, Index: i, Message: fmt.Sprintf(format, args...)})
	}

	names := map[string]int{} // client name -> index of the first client with it
	ids := map[string]int{}   // client_id -> index
	for i, c := range t.Clients {
		if c.Name != "" {
			if j, dup := names[c.Name]; dup {
				add(sectionClients, i, "duplicate name (also clients[%d])", j)
			} else {
				names[c.Name] = i
			}
		}
		if c.ClientID != "" {
			if j, dup := ids[c.ClientID]; dup {
				add(sectionClients, i, "duplicate client_id (also clients[%d])", j)
			} else {
				ids[c.ClientID] = i
			}
		}
	}
	client := func(ref string) (int, bool) {
		if i, ok := names[ref]; ok {
			return i, true
		}
		i, ok := ids[ref]
		return i, ok
	}

	connections := map[string]int{}
	for i, c := range t.Connections {
		if c.Name != "" {
			if j, dup := connections[c.Name]; dup {
				add(sectionConnections, i, "duplicate name (also connections[%d])", j)
			} else {
				connections[c.Name] = i
			}
		}
		for j, ref := range c.EnabledClients {
			if _, ok := client(ref); !ok {
				add(sectionConnections, i, "field \"enabled_clients[%d]\": unknown client %q", j, ref)
			}
		}
	}

	audiences := map[string]int{}
	for i, rs := range t.ResourceServers {
		if rs.Identifier == "" {
			continue
		}
		if j, dup := audiences[rs.Identifier]; dup {
			add(sectionResourceServers, i, "duplicate identifier (also resourceServers[%d])", j)
		} else {
			audiences[rs.Identifier] = i
		}
	}

	// A grant by name and one by client_id to the same client and audience
	// are duplicates: a known client is keyed by its index.
	type grantKey struct {
		client   int    // index of the client, -1 when unknown
		ref      string // the unknown client's reference
		audience string
	}
	grants := map[grantKey]int{}
	for i, g := range t.ClientGrants {
		key := grantKey{client: -1, ref: g.ClientID, audience: g.Audience}
		if g.ClientID != "" {
			if j, ok := client(g.ClientID); ok {
				key.client, key.ref = j, ""
			} else {
				add(sectionClientGrants, i, "field \"client_id\": unknown client %q", g.ClientID)
			}
		}
		if _, ok := audiences[g.Audience]; g.Audience != "" && !ok && !strings.HasSuffix(g.Audience, "/api/v2/") {
			add(sectionClientGrants, i, "field \"audience\": no resource server has identifier %q", g.Audience)
		}
		if g.ClientID == "" || g.Audience == "" {
			continue
		}
		if j, dup := grants[key]; dup {
			add(sectionClientGrants, i, "duplicate grant (also clientGrants[%d])", j)
		} else {
			grants[key] = i
		}
	}
	return out
}
