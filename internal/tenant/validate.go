package tenant

import "strings"

func validateClient(o *obj, c *Client) {
	if !appTypes[c.AppType] {
		o.errorf("field \"app_type\": unknown value %q", c.AppType)
	} else if c.AppType != AppSPA && c.AppType != AppNative && c.AppType != AppRegularWeb && c.AppType != AppNonInteractive {
		o.warnf("app_type %q is not implemented yet; treated as regular_web", c.AppType)
	}
	if !authMethods[c.TokenEndpointAuthMethod] {
		o.errorf("field \"token_endpoint_auth_method\": unknown value %q", c.TokenEndpointAuthMethod)
	}
	for i, g := range c.GrantTypes {
		if !grantTypes[g] {
			o.errorf("field \"grant_types[%d]\": unknown grant type %q", i, g)
		}
	}
	checkURLs(o, "callbacks", c.Callbacks, false)
	checkURLs(o, "allowed_logout_urls", c.AllowedLogoutURLs, false)
	checkURLs(o, "web_origins", c.WebOrigins, true)
	checkURLs(o, "allowed_origins", c.AllowedOrigins, true)
	for _, list := range []struct {
		name    string
		entries []string
	}{{"web_origins", c.WebOrigins}, {"allowed_origins", c.AllowedOrigins}} {
		for i, e := range list.entries {
			if absoluteURL(e, true) && !IsWebOrigin(e) {
				o.warnf("%s[%d] %q is not an origin (http or https, a host, no path): it matches nothing", list.name, i, e)
			}
		}
	}
	if c.CrossOriginLoc != "" {
		if scheme, _, _, ok := splitURL(c.CrossOriginLoc); !ok || (scheme != "http" && scheme != "https") || strings.Contains(c.CrossOriginLoc, "*") {
			o.errorf("field \"cross_origin_loc\": %q is not an http or https URL", c.CrossOriginLoc)
		}
	}
	if c.CrossOriginAuth && len(c.WebOrigins) == 0 {
		o.warnf("cross_origin_authentication is on but web_origins is empty: /co/authenticate refuses every origin")
	}
	if c.LogoURI != "" && !strings.HasPrefix(c.LogoURI, "https://") {
		o.warnf("logo_uri %q is not an https URL; the login page shows no logo", c.LogoURI)
	}
	if color := c.PrimaryColor(); color != "" && !ValidColor(color) {
		o.errorf("field \"sesame.branding.primary_color\": want #RGB or #RRGGBB, got %q", color)
	}
	if j := c.JWTConfiguration; j != nil {
		if !signingAlgs[j.Alg] {
			o.errorf("field \"jwt_configuration.alg\": unknown value %q", j.Alg)
		}
		if j.LifetimeInSeconds <= 0 {
			o.errorf("field \"jwt_configuration.lifetime_in_seconds\": must be positive")
		}
	}
	if r := c.RefreshToken; r != nil {
		if !rotationTypes[r.RotationType] {
			o.errorf("field \"refresh_token.rotation_type\": want rotating or non-rotating, got %q", r.RotationType)
		}
		if !expirationTypes[r.ExpirationType] {
			o.errorf("field \"refresh_token.expiration_type\": want expiring or non-expiring, got %q", r.ExpirationType)
		}
		if r.Leeway < 0 {
			o.errorf("field \"refresh_token.leeway\": must not be negative")
		}
		if r.TokenLifetime <= 0 || r.IdleTokenLifetime <= 0 {
			o.errorf("field \"refresh_token\": token_lifetime and idle_token_lifetime must be positive")
		}
	}
}

// checkURLs checks that every entry is an absolute URL. Auth0 allows a
// wildcard in the host (https://*.example.com/cb), so '*' is accepted
// anywhere; native apps use custom schemes (com.example.app://callback).
func checkURLs(o *obj, name string, urls []string, origin bool) {
	for i, u := range urls {
		if !absoluteURL(u, origin) {
			o.errorf("field \"%s[%d]\": %q is not an absolute URL", name, i, u)
		}
	}
}

func validateConnection(o *obj, c *Connection) {
	t := c.Options.TOTP
	if t.Length < 4 || t.Length > 10 {
		o.errorf("field \"options.totp.length\": must be between 4 and 10")
	}
	if t.TimeStep <= 0 {
		o.errorf("field \"options.totp.time_step\": must be positive")
	}
	switch c.Strategy {
	case "email":
		if e := c.Options.Email; e != nil && e.Syntax != "" && e.Syntax != "liquid" {
			o.errorf("field \"options.email.syntax\": want liquid, got %q", e.Syntax)
		}
		if so := c.Options.Sesame; so != nil && so.LoginPageSend != "" && so.LoginPageSend != "code" && so.LoginPageSend != "link" {
			o.errorf("field \"options.sesame.login_page_send\": want code or link, got %q", so.LoginPageSend)
		}
	case "sms":
		if s := c.Options.Syntax; s != "" && !smsSyntaxes[s] {
			o.errorf("field \"options.syntax\": want md_with_macros or liquid, got %q", s)
		}
		if u := c.Options.GatewayURL; u != "" && !absoluteURL(u, true) {
			o.errorf("field \"options.gateway_url\": not an absolute URL")
		}
	}
}

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
