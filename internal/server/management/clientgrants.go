package management

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// Client grants: /api/v2/client-grants. A grant lets a client get tokens for
// an audience (a resource server of the tenant, or the Management API) with
// the client_credentials grant, with its scopes.

var errClientGrantNotFound = NewError(http.StatusNotFound, "inexistent_client_grant", "The grant does not exist.")

func (a *API) clientGrantRoutes(rt *Router) {
	rt.Handle("GET /api/v2/client-grants", []string{"read:client_grants"}, a.listClientGrants)
	rt.Handle("POST /api/v2/client-grants", []string{"create:client_grants"}, a.createClientGrant)
	rt.Handle("GET /api/v2/client-grants/{id}", []string{"read:client_grants"}, a.getClientGrant)
	rt.Handle("PATCH /api/v2/client-grants/{id}", []string{"update:client_grants"}, a.updateClientGrant)
	rt.Handle("DELETE /api/v2/client-grants/{id}", []string{"delete:client_grants"}, a.deleteClientGrant)
}

// clientGrantBody is a client grant as the API answers it.
func clientGrantBody(rec store.ClientGrantRecord, g *tenant.ClientGrant) (map[string]any, error) {
	doc, err := decodeStored(rec.Data)
	if err != nil {
		return nil, err
	}
	doc["id"], doc["client_id"], doc["audience"] = rec.ID, rec.ClientID, rec.Audience
	scope := make([]any, len(g.Scope))
	for i, s := range g.Scope {
		scope[i] = s
	}
	doc["scope"] = scope
	return doc, nil
}

func (a *API) listClientGrants(w http.ResponseWriter, r *http.Request, _ *Call) error {
	p, err := ParsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	audience, clientID := q.Get("audience"), q.Get("client_id")
	state, t, err := a.storedTenant(r)
	if err != nil {
		return err
	}
	var out []map[string]any
	for i, rec := range state.ClientGrants {
		if audience != "" && rec.Audience != audience || clientID != "" && rec.ClientID != clientID {
			continue
		}
		body, err := clientGrantBody(rec, t.ClientGrants[i])
		if err != nil {
			return err
		}
		out = append(out, body)
	}
	WritePage(w, p, "client_grants", out)
	return nil
}

func (a *API) getClientGrant(w http.ResponseWriter, r *http.Request, _ *Call) error {
	state, t, err := a.storedTenant(r)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(state.ClientGrants, func(g store.ClientGrantRecord) bool { return g.ID == r.PathValue("id") })
	if i < 0 {
		return errClientGrantNotFound
	}
	body, err := clientGrantBody(state.ClientGrants[i], t.ClientGrants[i])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, body)
	return nil
}

// checkClientGrant checks what a grant refers to in the stored tenant: its
// client by client_id, its audience (a resource server's identifier, or the
// Management API's), and that each of its scopes is one the resource server
// defines (Auth0: scope must be a subset of the resource server's scopes).
// Any scope may be granted on the Management API.
func (a *API) checkClientGrant(st *store.TenantState, g *tenant.ClientGrant) error {
	if !slices.ContainsFunc(st.Clients, func(c store.ClientRecord) bool { return c.ClientID == g.ClientID }) {
		return InvalidBody(fmt.Sprintf("field \"client_id\": unknown client %q", g.ClientID))
	}
	if g.Audience == a.Audience() {
		return nil
	}
	i := slices.IndexFunc(st.ResourceServers, func(r store.ResourceServerRecord) bool { return r.Identifier == g.Audience })
	if i < 0 {
		return InvalidBody(fmt.Sprintf("field \"audience\": no resource server has identifier %q", g.Audience))
	}
	doc, err := decodeStored(st.ResourceServers[i].Data)
	if err != nil {
		return err
	}
	checked, _, err := tenant.ValidateResourceServer(doc)
	if err != nil {
		return err
	}
	for _, sc := range g.Scope {
		if !slices.ContainsFunc(checked.Value.Scopes, func(s tenant.Scope) bool { return s.Value == sc }) {
			return InvalidBody(fmt.Sprintf("field \"scope\": %q is not a scope of the resource server (scope must be a subset of the resource server's scopes)", sc))
		}
	}
	return nil
}

func (a *API) createClientGrant(w http.ResponseWriter, r *http.Request, _ *Call) error {
	body, err := DecodeBody(r)
	if err != nil {
		return err
	}
	id, err := givenID(body, "id")
	if err != nil {
		return err
	}
	checked, warnings, err := tenant.ValidateClientGrant(body)
	if err != nil {
		return validationError(err)
	}
	g := checked.Value
	if id == "" {
		if id, err = tenant.NewClientGrantID(); err != nil {
			return err
		}
	}
	now := a.Now()
	checked.Doc["id"] = id
	rec := store.ClientGrantRecord{ID: id, ClientID: g.ClientID, Audience: g.Audience, Data: tenant.EncodeDocument(checked.Doc), CreatedAt: now, UpdatedAt: now}
	if err := a.UpdateTenant(r.Context(), func(st *store.TenantState) error {
		if err := a.checkClientGrant(st, g); err != nil {
			return err
		}
		st.ClientGrants = append(st.ClientGrants, rec)
		return nil
	}); err != nil {
		return err
	}
	a.warn("client grant", id, warnings)
	out, err := clientGrantBody(rec, g)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, out)
	return nil
}

// updateClientGrant merges the body onto the stored grant: its scope, in
// practice; its client and audience cannot change.
func (a *API) updateClientGrant(w http.ResponseWriter, r *http.Request, _ *Call) error {
	id := r.PathValue("id")
	body, err := DecodeBody(r)
	if err != nil {
		return err
	}
	if err := immutable(body, "id", id); err != nil {
		return err
	}
	var out map[string]any
	var warnings []string
	err = a.UpdateTenant(r.Context(), func(st *store.TenantState) error {
		i := slices.IndexFunc(st.ClientGrants, func(g store.ClientGrantRecord) bool { return g.ID == id })
		if i < 0 {
			return errClientGrantNotFound
		}
		rec := st.ClientGrants[i]
		if err := immutable(body, "client_id", rec.ClientID); err != nil {
			return err
		}
		if err := immutable(body, "audience", rec.Audience); err != nil {
			return err
		}
		doc, err := decodeStored(rec.Data)
		if err != nil {
			return err
		}
		mergeTop(doc, body)
		checked, warns, err := tenant.ValidateClientGrant(doc)
		if err != nil {
			return validationError(err)
		}
		if err := a.checkClientGrant(st, checked.Value); err != nil {
			return err
		}
		checked.Doc["id"] = id
		rec.Data, rec.UpdatedAt = tenant.EncodeDocument(checked.Doc), a.Now()
		st.ClientGrants[i] = rec
		warnings = warns
		out, err = clientGrantBody(rec, checked.Value)
		return err
	})
	if err != nil {
		return err
	}
	a.warn("client grant", id, warnings)
	WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteClientGrant(w http.ResponseWriter, r *http.Request, _ *Call) error {
	id := r.PathValue("id")
	err := a.UpdateTenant(r.Context(), func(st *store.TenantState) error {
		i := slices.IndexFunc(st.ClientGrants, func(g store.ClientGrantRecord) bool { return g.ID == id })
		if i < 0 {
			return errClientGrantNotFound
		}
		st.ClientGrants = slices.Delete(st.ClientGrants, i, i+1)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
