package tenant

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/sesame-id/sesame/internal/store"
)

// Repository is the part of the store that keeps the tenant.
type Repository interface {
	UpdateTenant(ctx context.Context, fn func(*store.TenantState) error) error
	Tenant(ctx context.Context) (store.TenantState, error)
}

// FromStore reads the stored tenant, with Auth0's defaults applied.
func FromStore(ctx context.Context, st Repository) (*Tenant, error) {
	state, err := st.Tenant(ctx)
	if err != nil {
		return nil, fmt.Errorf("read tenant: %w", err)
	}
	return FromState(state)
}

// FromState decodes a stored tenant, with Auth0's defaults applied.
func FromState(state store.TenantState) (*Tenant, error) {
	t := &Tenant{}
	for _, r := range state.Clients {
		var c Client
		if err := json.Unmarshal(r.Data, &c); err != nil {
			return nil, fmt.Errorf("decode client %q: %w", r.ClientID, err)
		}
		c.ClientID, c.Name, c.SecretHash = r.ClientID, r.Name, r.SecretHash
		c.applyDefaults()
		t.Clients = append(t.Clients, &c)
	}
	for _, r := range state.Connections {
		c, err := decodeConnection(r.Data)
		if err != nil {
			return nil, err
		}
		c.ID, c.Name, c.Strategy = r.ID, r.Name, r.Strategy
		c.applyDefaults()
		t.Connections = append(t.Connections, c)
	}
	for _, r := range state.ResourceServers {
		var rs ResourceServer
		if err := json.Unmarshal(r.Data, &rs); err != nil {
			return nil, fmt.Errorf("decode resource server %q: %w", r.Identifier, err)
		}
		rs.ID, rs.Identifier = r.ID, r.Identifier
		rs.applyDefaults()
		t.ResourceServers = append(t.ResourceServers, &rs)
	}
	for _, r := range state.ClientGrants {
		var g ClientGrant
		if err := json.Unmarshal(r.Data, &g); err != nil {
			return nil, fmt.Errorf("decode client grant %q: %w", r.ID, err)
		}
		g.ID, g.ClientID, g.Audience = r.ID, r.ClientID, r.Audience
		g.applyDefaults()
		t.ClientGrants = append(t.ClientGrants, &g)
	}
	if len(state.EmailProvider) > 0 && string(state.EmailProvider) != "null" {
		var ep EmailProvider
		if err := json.Unmarshal(state.EmailProvider, &ep); err != nil {
			// The error names types only, never the credentials.
			return nil, fmt.Errorf("decode email provider: %w", err)
		}
		t.EmailProvider = &ep
	}
	return t, nil
}

// Tenant returns what the file describes as a Tenant, with defaults
// applied, before import: clients the file gives no client_id have none, and
// references to clients are still names.
func (f *File) Tenant() *Tenant {
	t := &Tenant{}
	for _, fc := range f.clients {
		var c Client
		_ = decodeDoc(fc.doc, &c) // checked by ParseFile
		c.SecretHash = slices.Clone(fc.secretHash)
		c.applyDefaults()
		t.Clients = append(t.Clients, &c)
	}
	for _, doc := range f.connections {
		c, _ := decodeConnection(mustJSON(doc))
		c.applyDefaults()
		t.Connections = append(t.Connections, c)
	}
	for _, doc := range f.resourceServers {
		var rs ResourceServer
		_ = decodeDoc(doc, &rs)
		rs.applyDefaults()
		t.ResourceServers = append(t.ResourceServers, &rs)
	}
	for _, doc := range f.clientGrants {
		var g ClientGrant
		_ = decodeDoc(doc, &g)
		g.applyDefaults()
		t.ClientGrants = append(t.ClientGrants, &g)
	}
	if f.emailProvider != nil {
		var ep EmailProvider
		_ = decodeDoc(f.emailProvider, &ep)
		t.EmailProvider = &ep
	}
	return t
}

// Client returns the client with this client_id, or nil.
func (t *Tenant) Client(clientID string) *Client {
	for _, c := range t.Clients {
		if c.ClientID == clientID {
			return c
		}
	}
	return nil
}

// Connection returns the connection with this name, or nil.
func (t *Tenant) Connection(name string) *Connection {
	for _, c := range t.Connections {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ResourceServer returns the API with this identifier (audience), or nil.
func (t *Tenant) ResourceServer(identifier string) *ResourceServer {
	for _, rs := range t.ResourceServers {
		if rs.Identifier == identifier {
			return rs
		}
	}
	return nil
}

// ClientGrant returns the grant of clientID to audience, or nil.
func (t *Tenant) ClientGrant(clientID, audience string) *ClientGrant {
	for _, g := range t.ClientGrants {
		if g.ClientID == clientID && g.Audience == audience {
			return g
		}
	}
	return nil
}

// EnabledFor reports whether the connection is enabled for the client.
func (c *Connection) EnabledFor(clientID string) bool {
	return slices.Contains(c.EnabledClients, clientID)
}

// HashSecret returns the SHA-256 of a client secret, the form it is stored in.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CheckSecret reports whether secret is the client's secret, in constant
// time. A client without a stored secret matches nothing.
func (c *Client) CheckSecret(secret string) bool {
	if len(c.SecretHash) != sha256.Size {
		return false
	}
	return subtle.ConstantTimeCompare(HashSecret(secret), c.SecretHash) == 1
}
