package server

import (
	"net/http"
	"net/url"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/tenant"
)

// clientCredentials are what a request presented to identify its client.
type clientCredentials struct {
	ClientID string
	Secret   string
	Basic    bool // the secret came in an Authorization: Basic header
	Both     bool // a secret came both in the header and in the body
}

// readClientCredentials takes the client id and secret from HTTP Basic
// (RFC 6749 §2.3.1: form-encoded, then base64) or from the body fields.
func readClientCredentials(r *http.Request, bodyID, bodySecret string) clientCredentials {
	c := clientCredentials{ClientID: bodyID, Secret: bodySecret}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return c
	}
	if u, err := url.QueryUnescape(user); err == nil {
		user = u
	}
	if p, err := url.QueryUnescape(pass); err == nil {
		pass = p
	}
	if c.ClientID == "" {
		c.ClientID = user
	}
	c.Both = bodySecret != ""
	if user == c.ClientID {
		c.Secret = pass
		c.Basic = true
	}
	return c
}

// secretOutcome is the result of checking a client's credentials.
type secretOutcome int

const (
	secretNotNeeded secretOutcome = iota // public client
	secretMissing
	secretWrong
	secretOK
)

// checkSecret authenticates a confidential client. Confidential clients may
// send their secret in the body or with HTTP Basic whatever their
// token_endpoint_auth_method says; both carry the same secret, and Auth0
// accepts both.
func checkSecret(c *tenant.Client, cred clientCredentials) secretOutcome {
	if c.IsPublic() {
		return secretNotNeeded
	}
	if cred.Secret == "" {
		return secretMissing
	}
	if !c.CheckSecret(cred.Secret) {
		return secretWrong
	}
	return secretOK
}

var errClientAuth = &oauth.Error{Kind: fault.Unauthenticated, Code: "invalid_client", Description: "Client authentication failed"}

// authenticateTokenClient identifies and authenticates the client of a
// token-endpoint request.
func (s *Server) authenticateTokenClient(r *http.Request, t *tenant.Tenant, p map[string]string) (*tenant.Client, error) {
	cred := readClientCredentials(r, p["client_id"], p["client_secret"])
	if cred.Both {
		return nil, invalidRequest("use only one client authentication method")
	}
	if cred.ClientID == "" {
		return nil, invalidRequest("Missing required parameter: client_id")
	}
	if p["client_assertion"] != "" {
		return nil, &oauth.Error{Kind: fault.Unauthenticated, Code: "invalid_client", Description: "private_key_jwt client authentication is not supported yet"}
	}
	client := t.Client(cred.ClientID)
	if client == nil {
		return nil, errClientAuth
	}
	switch checkSecret(client, cred) {
	case secretMissing, secretWrong:
		return nil, errClientAuth
	}
	return client, nil
}
