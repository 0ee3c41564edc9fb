package tenant

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Auth0's defaults. The store keeps documents as they were written, without
// these, so that a change here applies to tenants already stored.
const (
	defaultIDTokenLifetime     = 36000   // jwt_configuration.lifetime_in_seconds
	defaultRefreshLifetime     = 2592000 // refresh_token.token_lifetime, 30 days
	defaultRefreshIdleLifetime = 1296000 // refresh_token.idle_token_lifetime, 15 days
	defaultCodeLength          = 6       // options.totp.length
	defaultCodeLifetime        = 180     // options.totp.time_step, seconds
	defaultAccessTokenLifetime = 86400   // resource server token_lifetime
	defaultWebTokenLifetime    = 7200    // resource server token_lifetime_for_web
	defaultSigningAlg          = "RS256"
)

// applyDefaults fills in what Auth0 assumes for fields a client leaves out.
// A client without app_type is treated as a regular web application.
func (c *Client) applyDefaults() {
	if c.CrossOriginAuthentication != nil {
		c.CrossOriginAuth = *c.CrossOriginAuthentication
	}
	if c.AppType == "" {
		c.AppType = AppRegularWeb
	}
	if c.TokenEndpointAuthMethod == "" {
		c.TokenEndpointAuthMethod = defaultAuthMethod(c.AppType)
	}
	if c.GrantTypes == nil {
		c.GrantTypes = defaultGrantTypes(c.IsPublic())
	}
	if c.JWTConfiguration == nil {
		c.JWTConfiguration = &JWTConfiguration{}
	}
	if c.JWTConfiguration.LifetimeInSeconds == 0 {
		c.JWTConfiguration.LifetimeInSeconds = defaultIDTokenLifetime
	}
	if c.JWTConfiguration.Alg == "" {
		c.JWTConfiguration.Alg = defaultSigningAlg
	}
	if c.RefreshToken == nil {
		c.RefreshToken = &RefreshTokenConfig{}
	}
	r := c.RefreshToken
	if r.RotationType == "" {
		r.RotationType = "non-rotating"
	}
	if r.ExpirationType == "" {
		r.ExpirationType = "non-expiring"
	}
	if r.TokenLifetime == 0 {
		r.TokenLifetime = defaultRefreshLifetime
	}
	if r.IdleTokenLifetime == 0 {
		r.IdleTokenLifetime = defaultRefreshIdleLifetime
	}
	nonExpiring := r.ExpirationType == "non-expiring"
	if r.InfiniteTokenLifetime == nil {
		r.InfiniteTokenLifetime = &nonExpiring
	}
	if r.InfiniteIdleTokenLifetime == nil {
		r.InfiniteIdleTokenLifetime = &nonExpiring
	}
}

func defaultAuthMethod(appType string) string {
	if appType == AppSPA || appType == AppNative {
		return AuthNone
	}
	return AuthClientSecretPost
}

// defaultGrantTypes are the grants Auth0 gives a client created without
// grant_types (spec §7). The passwordless grant must be asked for.
func defaultGrantTypes(public bool) []string {
	g := []string{GrantImplicit, GrantAuthorizationCode, GrantRefreshToken}
	if !public {
		g = append(g, GrantClientCredentials)
	}
	return g
}

// decodeConnection reads a connection document. The options of the email
// and sms strategies are read over their defaults, so that a field left out
// (brute_force_protection, say) keeps Auth0's default while one set to false
// stays false. The options of other strategies are not read.
func decodeConnection(data []byte) (*Connection, error) {
	var doc struct {
		Connection
		Options json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode connection: %w", err)
	}
	c := doc.Connection
	c.Options = ConnectionOptions{}
	if c.Strategy == "email" || c.Strategy == "sms" {
		c.Options = ConnectionOptions{
			TOTP:                 TOTP{Length: defaultCodeLength, TimeStep: defaultCodeLifetime},
			BruteForceProtection: true,
		}
		if len(doc.Options) > 0 && string(doc.Options) != "null" {
			if err := json.Unmarshal(doc.Options, &c.Options); err != nil {
				return nil, fmt.Errorf("decode connection %q options: %w", c.Name, err)
			}
		}
	}
	return &c, nil
}

// applyDefaults fills in the connection's realms.
func (c *Connection) applyDefaults() {
	if len(c.Realms) == 0 && c.Name != "" {
		c.Realms = []string{c.Name}
	}
}

// applyDefaults fills in the API's token settings.
func (rs *ResourceServer) applyDefaults() {
	if rs.TokenLifetime == 0 {
		rs.TokenLifetime = defaultAccessTokenLifetime
	}
	if rs.TokenLifetimeForWeb == 0 {
		rs.TokenLifetimeForWeb = min(defaultWebTokenLifetime, rs.TokenLifetime)
	}
	if rs.SigningAlg == "" {
		rs.SigningAlg = defaultSigningAlg
	}
}

func (g *ClientGrant) applyDefaults() {
	if g.Scope == nil {
		g.Scope = []string{}
	}
}

// IsPublic reports whether the client authenticates without a secret
// (token_endpoint_auth_method none: SPAs and native apps).
func (c *Client) IsPublic() bool {
	m := c.TokenEndpointAuthMethod
	if m == "" {
		m = defaultAuthMethod(c.AppType)
	}
	return m == AuthNone
}

// AllowsGrant reports whether grant g is among the client's grant_types.
func (c *Client) AllowsGrant(g string) bool {
	if c.GrantTypes == nil {
		return slices.Contains(defaultGrantTypes(c.IsPublic()), g)
	}
	return slices.Contains(c.GrantTypes, g)
}
