package oauth

import (
	"context"
	"slices"
	"strings"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/tenant"
	"github.com/sesame-id/sesame/internal/token"
)

// ManagementAPI is the path of the Management API under the issuer, and of
// its audience: {issuer}api/v2/.
const ManagementAPI = "api/v2/"

// ManagementAudience is the audience of the Management API, an API every
// tenant has without a resource server of its own.
func (s *Server) ManagementAudience() string { return s.Issuer + ManagementAPI }

// ManagementTokenLifetime is the lifetime of a Management API access token,
// Auth0's default for it.
const ManagementTokenLifetime = 86400

// GrantTypeClaim is the gty claim of a token a client got for itself.
const GrantTypeClaim = "client-credentials"

// ClientSubjectSuffix follows the client_id in the sub claim of such a
// token.
const ClientSubjectSuffix = "@clients"

// ClientCredentialsRequest is an authenticated client_credentials grant.
type ClientCredentialsRequest struct {
	Tenant   *tenant.Tenant
	Client   *tenant.Client // authenticated with its secret
	Audience string
	Scope    string // requested; empty asks for every granted scope
}

// grantsDocURL is where Auth0 points a client that has no grant.
const grantsDocURL = "https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants"

// ClientCredentials issues an access token to a machine-to-machine client
// for itself: for the audience of one of the tenant's client grants to it,
// with the scopes of that grant (all of them when none is asked for; asking
// for one the grant lacks is refused, as Auth0 refuses it). The audience is
// a resource server of the tenant, or the Management API. No refresh token
// and no ID token are issued.
func (s *Server) ClientCredentials(ctx context.Context, req ClientCredentialsRequest) (*TokenResponse, error) {
	denied := func(desc string) error {
		return &Error{Kind: fault.Forbidden, Code: "access_denied", Description: desc}
	}
	aud := req.Audience
	if aud == "" {
		return nil, denied("No audience parameter was provided, and no default audience has been configured")
	}
	lifetime, alg := ManagementTokenLifetime, token.RS256
	if aud != s.ManagementAudience() {
		rs := req.Tenant.ResourceServer(aud)
		if rs == nil {
			return nil, denied("Service not enabled within domain: " + aud)
		}
		lifetime, alg = rs.TokenLifetime, token.Algorithm(rs.SigningAlg)
		if lifetime <= 0 {
			lifetime = DefaultAccessTokenLifetime
		}
	}
	grant := req.Tenant.ClientGrant(req.Client.ClientID, aud)
	if grant == nil {
		return nil, denied(`Client is not authorized to access "` + aud + `". You need to create a "client-grant" associated to this API. See: ` + grantsDocURL)
	}
	scope := grant.Scope
	if req.Scope != "" {
		scope = nil
		var missing []string
		for _, sc := range strings.Fields(req.Scope) {
			switch {
			case slices.Contains(scope, sc), slices.Contains(missing, sc):
			case slices.Contains(grant.Scope, sc):
				scope = append(scope, sc)
			default:
				missing = append(missing, sc)
			}
		}
		if len(missing) > 0 {
			return nil, denied("Client has not been granted scopes: " + strings.Join(missing, " "))
		}
	}

	now := s.Now()
	jti, err := randomString(16)
	if err != nil {
		return nil, err
	}
	at, err := s.Keys.Sign(ctx, alg, token.AccessClaims{
		Issuer: s.Issuer, Subject: req.Client.ClientID + ClientSubjectSuffix, Audience: token.Audience{aud},
		IssuedAt: now.Unix(), Expiry: now.Unix() + int64(lifetime),
		Scope: strings.Join(scope, " "), AZP: req.Client.ClientID, JTI: jti, GrantType: GrantTypeClaim,
	})
	if err != nil {
		return nil, err
	}
	return &TokenResponse{AccessToken: at, Scope: strings.Join(scope, " "), ExpiresIn: lifetime, TokenType: "Bearer"}, nil
}
