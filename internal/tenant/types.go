// Package tenant holds Sesame's configuration objects in Auth0's Management
// API shapes: clients (applications), connections, resource servers (APIs),
// client grants and the email provider. It validates them one by one
// (ValidateClient and its siblings, for the tenant file and the Management
// API alike) and together (CheckTenant), loads them from a tenant file in
// the Auth0 Deploy CLI layout (ParseFile), fills in Auth0's defaults and
// keeps them in the store.
package tenant

import "time"

// Grant type names.
const (
	GrantPasswordlessOTP   = "http://auth0.com/oauth/grant-type/passwordless/otp"
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantImplicit          = "implicit"
	GrantClientCredentials = "client_credentials"
)

// Application types.
const (
	AppSPA            = "spa"
	AppNative         = "native"
	AppRegularWeb     = "regular_web"
	AppNonInteractive = "non_interactive"
)

// Token endpoint authentication methods.
const (
	AuthNone              = "none"
	AuthClientSecretPost  = "client_secret_post"
	AuthClientSecretBasic = "client_secret_basic"
	AuthPrivateKeyJWT     = "private_key_jwt"
)

// Tenant is the whole configuration the server works from.
type Tenant struct {
	Clients         []*Client
	Connections     []*Connection
	ResourceServers []*ResourceServer
	ClientGrants    []*ClientGrant
	EmailProvider   *EmailProvider // nil: development delivery to the log
}

// Client is an application (Management API /api/v2/clients). Only the fields
// Sesame acts on are typed here; see fields.go for every accepted field.
type Client struct {
	ClientID                       string   `json:"client_id"`
	Name                           string   `json:"name"`
	AppType                        string   `json:"app_type,omitempty"`
	TokenEndpointAuthMethod        string   `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes                     []string `json:"grant_types,omitempty"`
	Callbacks                      []string `json:"callbacks,omitempty"`
	AllowedOrigins                 []string `json:"allowed_origins,omitempty"`
	WebOrigins                     []string `json:"web_origins,omitempty"`
	AllowedLogoutURLs              []string `json:"allowed_logout_urls,omitempty"`
	IsFirstParty                   *bool    `json:"is_first_party,omitempty"`
	OIDCConformant                 *bool    `json:"oidc_conformant,omitempty"`
	IsTokenEndpointIPHeaderTrusted bool     `json:"is_token_endpoint_ip_header_trusted,omitempty"`
	CrossOriginAuth                bool     `json:"cross_origin_auth,omitempty"`
	// CrossOriginAuthentication is Auth0's current name for
	// cross_origin_auth; when set, defaults copy it into CrossOriginAuth,
	// which is the field to read.
	CrossOriginAuthentication *bool `json:"cross_origin_authentication,omitempty"`
	// CrossOriginLoc is the application's page that runs auth0.js's
	// crossOriginVerification(), where /authorize finds the co_verifier
	// of a login ticket when third-party cookies were blocked.
	CrossOriginLoc   string              `json:"cross_origin_loc,omitempty"`
	JWTConfiguration *JWTConfiguration   `json:"jwt_configuration,omitempty"`
	RefreshToken     *RefreshTokenConfig `json:"refresh_token,omitempty"`
	Description      string              `json:"description,omitempty"`
	// LogoURI is the application's logo; the hosted login page shows it
	// when it is an https URL.
	LogoURI string `json:"logo_uri,omitempty"`
	// Mobile is the native app that link_ios and link_android magic links
	// open (universal links, app links).
	Mobile *ClientMobile `json:"mobile,omitempty"`
	// Sesame holds Sesame's own client settings, kept under sesame so they
	// never collide with a field Auth0 adds later.
	Sesame *ClientSesame `json:"sesame,omitempty"`

	// SecretHash is the SHA-256 of the client secret (never the secret).
	SecretHash []byte `json:"-"`
}

// ClientMobile is a native application's identity on iOS and Android.
type ClientMobile struct {
	IOS     *MobileIOS     `json:"ios,omitempty"`
	Android *MobileAndroid `json:"android,omitempty"`
}

// MobileIOS identifies an iOS app: the universal links of link_ios open it.
type MobileIOS struct {
	TeamID              string `json:"team_id,omitempty"`
	AppBundleIdentifier string `json:"app_bundle_identifier,omitempty"`
}

// MobileAndroid identifies an Android app: the app links of link_android
// open it, once Android checked its certificate's fingerprint.
type MobileAndroid struct {
	AppPackageName         string   `json:"app_package_name,omitempty"`
	SHA256CertFingerprints []string `json:"sha256_cert_fingerprints,omitempty"`
}

// IOSBundle is the client's iOS bundle identifier, or "".
func (c *Client) IOSBundle() string {
	if c.Mobile == nil || c.Mobile.IOS == nil {
		return ""
	}
	return c.Mobile.IOS.AppBundleIdentifier
}

// AndroidPackage is the client's Android package name, or "".
func (c *Client) AndroidPackage() string {
	if c.Mobile == nil || c.Mobile.Android == nil {
		return ""
	}
	return c.Mobile.Android.AppPackageName
}

// ClientSesame is a client's Sesame-only settings.
type ClientSesame struct {
	Branding *ClientBranding `json:"branding,omitempty"`
}

// ClientBranding is how the hosted login page looks for this client.
// Auth0 keeps the colour in the tenant's branding settings, one for all
// applications; Sesame has it per client, beside the client's logo_uri.
type ClientBranding struct {
	// PrimaryColor is the buttons' and links' colour, #RGB or #RRGGBB.
	PrimaryColor string `json:"primary_color,omitempty"`
}

// PrimaryColor returns the client's primary colour, or "" when it has none.
func (c *Client) PrimaryColor() string {
	if c.Sesame == nil || c.Sesame.Branding == nil {
		return ""
	}
	return c.Sesame.Branding.PrimaryColor
}

// ValidColor reports whether s is a CSS hex colour of the form #RGB or
// #RRGGBB, the only form a colour from the tenant may take: anything else
// could carry CSS into the login page.
func ValidColor(s string) bool {
	if len(s) != 4 && len(s) != 7 || s[0] != '#' {
		return false
	}
	for _, r := range s[1:] {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

// JWTConfiguration is the client's ID token configuration.
type JWTConfiguration struct {
	LifetimeInSeconds int    `json:"lifetime_in_seconds,omitempty"`
	Alg               string `json:"alg,omitempty"`
	SecretEncoded     bool   `json:"secret_encoded,omitempty"`
}

// RefreshTokenConfig is the client's refresh token policy.
type RefreshTokenConfig struct {
	RotationType              string `json:"rotation_type,omitempty"`   // non-rotating (default) or rotating
	ExpirationType            string `json:"expiration_type,omitempty"` // non-expiring (default) or expiring
	Leeway                    int    `json:"leeway,omitempty"`
	TokenLifetime             int    `json:"token_lifetime,omitempty"`
	InfiniteTokenLifetime     *bool  `json:"infinite_token_lifetime,omitempty"`
	IdleTokenLifetime         int    `json:"idle_token_lifetime,omitempty"`
	InfiniteIdleTokenLifetime *bool  `json:"infinite_idle_token_lifetime,omitempty"`
}

// Connection is an identity source (Management API /api/v2/connections).
// Sesame implements the email and sms strategies.
type Connection struct {
	ID                 string            `json:"id,omitempty"`
	Name               string            `json:"name"`
	Strategy           string            `json:"strategy"`
	DisplayName        string            `json:"display_name,omitempty"`
	EnabledClients     []string          `json:"enabled_clients,omitempty"` // client_ids once resolved
	IsDomainConnection bool              `json:"is_domain_connection,omitempty"`
	Realms             []string          `json:"realms,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	Options            ConnectionOptions `json:"options"`
}

// ConnectionOptions holds the options of the email and sms strategies.
type ConnectionOptions struct {
	Name                 string         `json:"name,omitempty"`
	Email                *EmailTemplate `json:"email,omitempty"`
	TOTP                 TOTP           `json:"totp"`
	AuthParams           map[string]any `json:"authParams,omitempty"`
	DisableSignup        bool           `json:"disable_signup"`
	Sesame               *SesameOptions `json:"sesame,omitempty"`
	BruteForceProtection bool           `json:"brute_force_protection"`

	// sms: the provider and the message
	From                  string                 `json:"from,omitempty"`
	Syntax                string                 `json:"syntax,omitempty"`
	Template              string                 `json:"template,omitempty"`
	Provider              string                 `json:"provider,omitempty"`
	TwilioSID             string                 `json:"twilio_sid,omitempty"`
	TwilioToken           string                 `json:"twilio_token,omitempty"`
	MessagingServiceSID   string                 `json:"messaging_service_sid,omitempty"`
	GatewayURL            string                 `json:"gateway_url,omitempty"`
	GatewayAuthentication *GatewayAuthentication `json:"gateway_authentication,omitempty"`
	ForwardReqInfo        bool                   `json:"forward_req_info,omitempty"`
	// Strategy is "sms" when given: Auth0's gateway guide repeats the
	// strategy in options.
	Strategy string `json:"strategy,omitempty"`
}

// SesameOptions are Sesame's extensions to a connection's options.
type SesameOptions struct {
	// LinkConfirmation makes a magic link open a page with a button that
	// logs in, so that mail scanners fetching the link do not burn it.
	// Default true; false gives Auth0's one-step redirect.
	LinkConfirmation *bool `json:"link_confirmation,omitempty"`
	// AllowedCountryCodes limits an sms connection to numbers of these
	// country calling codes ("1", "+44"); empty allows all (with a warning
	// at start: SMS pumping targets exactly such connections).
	AllowedCountryCodes []string `json:"allowed_country_codes,omitempty"`
	// LoginPageSend is what the hosted login page sends on an email
	// connection: "code" (the default) or "link", a magic link that
	// completes the login in whichever browser opens it.
	LoginPageSend string `json:"login_page_send,omitempty"`
	// ProviderTimeout is how many seconds an sms connection waits for its
	// provider (Twilio or the custom gateway), 1 to MaxProviderTimeout; 0
	// leaves the server's default (Twilio 30 s, the gateway
	// --sms-gateway-timeout). Auth0 has no such option.
	ProviderTimeout int `json:"provider_timeout,omitempty"`
}

// ProviderTimeout is the sms connection's options.sesame.provider_timeout,
// or 0 when it sets none.
func (o ConnectionOptions) ProviderTimeout() time.Duration {
	if o.Sesame == nil {
		return 0
	}
	return time.Duration(o.Sesame.ProviderTimeout) * time.Second
}

// LoginPageSendsLink reports whether the hosted page emails a magic link
// rather than a code on this connection.
func (o ConnectionOptions) LoginPageSendsLink() bool {
	return o.Sesame != nil && o.Sesame.LoginPageSend == "link"
}

// AllowedCountryCodes is the sms connection's allow-list, or nil for all.
func (o ConnectionOptions) AllowedCountryCodes() []string {
	if o.Sesame == nil {
		return nil
	}
	return o.Sesame.AllowedCountryCodes
}

// ConfirmLinks reports whether magic links go through the confirmation page.
func (o ConnectionOptions) ConfirmLinks() bool {
	return o.Sesame == nil || o.Sesame.LinkConfirmation == nil || *o.Sesame.LinkConfirmation
}

// EmailTemplate is the email connection's message.
type EmailTemplate struct {
	From    string `json:"from,omitempty"`
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body,omitempty"`
	Syntax  string `json:"syntax,omitempty"` // liquid
}

// TOTP sets the code length and lifetime.
type TOTP struct {
	Length   int `json:"length"`    // digits, default 6
	TimeStep int `json:"time_step"` // seconds, default 180
}

// GatewayAuthentication configures the JWT sent to a custom SMS gateway.
type GatewayAuthentication struct {
	Method              string `json:"method,omitempty"`
	Subject             string `json:"subject,omitempty"`
	Audience            string `json:"audience,omitempty"`
	Secret              string `json:"secret,omitempty"`
	SecretBase64Encoded bool   `json:"secret_base64_encoded,omitempty"`
}

// ResourceServer is an API (Management API /api/v2/resource-servers).
type ResourceServer struct {
	ID                                        string  `json:"id,omitempty"`
	Name                                      string  `json:"name,omitempty"`
	Identifier                                string  `json:"identifier"`
	Scopes                                    []Scope `json:"scopes,omitempty"`
	SigningAlg                                string  `json:"signing_alg,omitempty"`
	AllowOfflineAccess                        bool    `json:"allow_offline_access,omitempty"`
	TokenLifetime                             int     `json:"token_lifetime,omitempty"`
	TokenLifetimeForWeb                       int     `json:"token_lifetime_for_web,omitempty"`
	SkipConsentForVerifiableFirstPartyClients bool    `json:"skip_consent_for_verifiable_first_party_clients,omitempty"`
}

// Scope is a permission an API defines.
type Scope struct {
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
}

// ClientGrant lets a client ask for tokens to an API.
type ClientGrant struct {
	ID       string   `json:"id,omitempty"`
	ClientID string   `json:"client_id"` // a client_id once resolved (the file may use the client's name)
	Audience string   `json:"audience"`
	Scope    []string `json:"scope"`
}

// EmailProvider is the tenant's SMTP server.
type EmailProvider struct {
	Name               string           `json:"name"`
	Enabled            *bool            `json:"enabled,omitempty"`
	DefaultFromAddress string           `json:"default_from_address,omitempty"`
	Credentials        EmailCredentials `json:"credentials"`
	Settings           map[string]any   `json:"settings,omitempty"`
}

// EmailCredentials are the SMTP server's address and login.
type EmailCredentials struct {
	SMTPHost string `json:"smtp_host,omitempty"`
	SMTPPort int    `json:"smtp_port,omitempty"`
	SMTPUser string `json:"smtp_user,omitempty"`
	SMTPPass string `json:"smtp_pass,omitempty"`
}
