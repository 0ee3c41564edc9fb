package tenant

import (
	"bytes"
	"context"
	"slices"
	"sync"

	"github.com/sesame-id/sesame/internal/store"
)

// fakeStore keeps a TenantState in memory. Only UpdateTenant and Tenant are
// implemented; the embedded nil interface panics on anything else.
type fakeStore struct {
	store.Store
	mu    sync.Mutex
	state store.TenantState
}

func (s *fakeStore) UpdateTenant(_ context.Context, fn func(*store.TenantState) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := cloneState(s.state)
	if err := fn(&st); err != nil {
		return err
	}
	s.state = cloneState(st)
	return nil
}

func (s *fakeStore) Tenant(context.Context) (store.TenantState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneState(s.state), nil
}

// cloneState deep-copies a state, as a round trip through a database would.
func cloneState(st store.TenantState) store.TenantState {
	out := store.TenantState{EmailProvider: bytes.Clone(st.EmailProvider)}
	for _, c := range st.Clients {
		c.SecretHash, c.Data = bytes.Clone(c.SecretHash), bytes.Clone(c.Data)
		out.Clients = append(out.Clients, c)
	}
	for _, c := range st.Connections {
		c.Data = bytes.Clone(c.Data)
		out.Connections = append(out.Connections, c)
	}
	for _, r := range st.ResourceServers {
		r.Data = bytes.Clone(r.Data)
		out.ResourceServers = append(out.ResourceServers, r)
	}
	for _, g := range st.ClientGrants {
		g.Data = bytes.Clone(g.Data)
		out.ClientGrants = append(out.ClientGrants, g)
	}
	out.Clients = slices.Clip(out.Clients)
	return out
}
