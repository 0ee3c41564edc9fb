package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sesame-id/sesame/internal/tenant"
	"github.com/sesame-id/sesame/internal/token"
)

// discovery is the OpenID Provider Metadata document. It advertises only
// what exists: endpoints appear here as the issues that build them land.
type discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	CodeChallengeMethods              []string `json:"code_challenge_methods_supported"`
}

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, discovery{
		Issuer:                            s.Issuer,
		AuthorizationEndpoint:             s.Issuer + "authorize",
		TokenEndpoint:                     s.Issuer + "oauth/token",
		UserinfoEndpoint:                  s.Issuer + "userinfo",
		JWKSURI:                           s.Issuer + ".well-known/jwks.json",
		RevocationEndpoint:                s.Issuer + "oauth/revoke",
		EndSessionEndpoint:                s.Issuer + "oidc/logout",
		ScopesSupported:                   []string{"openid", "profile", "email", "phone", "offline_access"},
		ResponseTypesSupported:            []string{"code", "token", "id_token", "id_token token", "code id_token", "code token", "code id_token token"},
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		GrantTypesSupported:               []string{tenant.GrantPasswordlessOTP, tenant.GrantAuthorizationCode, tenant.GrantImplicit, tenant.GrantRefreshToken, tenant.GrantClientCredentials},
		CodeChallengeMethods:              s.OAuth.PKCEMethods(),
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  token.Algorithms,
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post", "none"},
		ClaimsSupported: []string{"aud", "auth_time", "email", "email_verified", "exp", "iat", "iss",
			"name", "nickname", "nonce", "phone_number", "phone_number_verified", "picture", "sub", "updated_at"},
	})
}

// handleJWKS publishes the signing keys. A new key signs only once every
// copy of the JWKS that lacks it has expired (token.Activation), so copies
// may be kept for one key reload interval and no longer.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(s.Keys.MaxAge()/time.Second)))
	_, _ = w.Write(s.Keys.JWKS())
}
