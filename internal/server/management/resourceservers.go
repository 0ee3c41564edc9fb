package management

import (
	"net/http"
	"slices"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// Resource servers (APIs): /api/v2/resource-servers. The Management API
// itself is no resource server of the tenant: it is not listed, and no
// resource server may take its identifier.

var errResourceServerNotFound = NewError(http.StatusNotFound, "inexistent_resource_server", "The resource server does not exist")

func (a *API) resourceServerRoutes(rt *Router) {
	rt.Handle("GET /api/v2/resource-servers", []string{"read:resource_servers"}, a.listResourceServers)
	rt.Handle("POST /api/v2/resource-servers", []string{"create:resource_servers"}, a.createResourceServer)
	rt.Handle("GET /api/v2/resource-servers/{id}", []string{"read:resource_servers"}, a.getResourceServer)
	rt.Handle("PATCH /api/v2/resource-servers/{id}", []string{"update:resource_servers"}, a.updateResourceServer)
	rt.Handle("DELETE /api/v2/resource-servers/{id}", []string{"delete:resource_servers"}, a.deleteResourceServer)
}

// resourceServerBody is a resource server as the API answers it: the
// stored document with the token settings' defaults.
func resourceServerBody(rec store.ResourceServerRecord, rs *tenant.ResourceServer) (map[string]any, error) {
	doc, err := decodeStored(rec.Data)
	if err != nil {
		return nil, err
	}
	if err := overlay(doc, rs); err != nil {
		return nil, err
	}
	doc["id"], doc["identifier"] = rec.ID, rec.Identifier
	for k, v := range map[string]any{"scopes": []any{}, "allow_offline_access": false, "skip_consent_for_verifiable_first_party_clients": false} {
		if _, ok := doc[k]; !ok {
			doc[k] = v
		}
	}
	return doc, nil
}

// resourceServerIndex finds a resource server by id or by identifier, as
// Auth0's GET /api/v2/resource-servers/{id} does.
func resourceServerIndex(list []store.ResourceServerRecord, idOrIdentifier string) int {
	if i := slices.IndexFunc(list, func(r store.ResourceServerRecord) bool { return r.ID == idOrIdentifier }); i >= 0 {
		return i
	}
	return slices.IndexFunc(list, func(r store.ResourceServerRecord) bool { return r.Identifier == idOrIdentifier })
}

func (a *API) listResourceServers(w http.ResponseWriter, r *http.Request, _ *Call) error {
	p, err := ParsePage(r)
	if err != nil {
		return err
	}
	fields, err := ParseFields(r)
	if err != nil {
		return err
	}
	identifiers := r.URL.Query()["identifiers"]
	state, t, err := a.storedTenant(r)
	if err != nil {
		return err
	}
	var out []map[string]any
	for i, rec := range state.ResourceServers {
		if identifiers != nil && !slices.Contains(identifiers, rec.Identifier) {
			continue
		}
		body, err := resourceServerBody(rec, t.ResourceServers[i])
		if err != nil {
			return err
		}
		out = append(out, fields.Apply(body))
	}
	WritePage(w, p, "resource_servers", out)
	return nil
}

func (a *API) getResourceServer(w http.ResponseWriter, r *http.Request, _ *Call) error {
	fields, err := ParseFields(r)
	if err != nil {
		return err
	}
	state, t, err := a.storedTenant(r)
	if err != nil {
		return err
	}
	i := resourceServerIndex(state.ResourceServers, r.PathValue("id"))
	if i < 0 {
		return errResourceServerNotFound
	}
	body, err := resourceServerBody(state.ResourceServers[i], t.ResourceServers[i])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, fields.Apply(body))
	return nil
}

func (a *API) createResourceServer(w http.ResponseWriter, r *http.Request, _ *Call) error {
	body, err := DecodeBody(r)
	if err != nil {
		return err
	}
	id, err := givenID(body, "id")
	if err != nil {
		return err
	}
	checked, warnings, err := tenant.ValidateResourceServer(body)
	if err != nil {
		return validationError(err)
	}
	rs := checked.Value
	if rs.Identifier == a.Audience() {
		return Conflict("A resource server with the same identifier already exists")
	}
	if id == "" {
		if id, err = tenant.NewResourceServerID(); err != nil {
			return err
		}
	}
	now := a.Now()
	checked.Doc["id"] = id
	rec := store.ResourceServerRecord{ID: id, Identifier: rs.Identifier, Data: tenant.EncodeDocument(checked.Doc), CreatedAt: now, UpdatedAt: now}
	if err := a.UpdateTenant(r.Context(), func(st *store.TenantState) error {
		st.ResourceServers = append(st.ResourceServers, rec)
		return nil
	}); err != nil {
		return err
	}
	a.warn("resource server", id, warnings)
	out, err := resourceServerBody(rec, rs)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, out)
	return nil
}

// updateResourceServer merges the body onto the stored resource server.
// Its identifier cannot change.
func (a *API) updateResourceServer(w http.ResponseWriter, r *http.Request, _ *Call) error {
	body, err := DecodeBody(r)
	if err != nil {
		return err
	}
	var out map[string]any
	var id string
	var warnings []string
	err = a.UpdateTenant(r.Context(), func(st *store.TenantState) error {
		i := resourceServerIndex(st.ResourceServers, r.PathValue("id"))
		if i < 0 {
			return errResourceServerNotFound
		}
		rec := st.ResourceServers[i]
		id = rec.ID
		if err := immutable(body, "id", rec.ID); err != nil {
			return err
		}
		if err := immutable(body, "identifier", rec.Identifier); err != nil {
			return err
		}
		doc, err := decodeStored(rec.Data)
		if err != nil {
			return err
		}
		mergeTop(doc, body)
		checked, warns, err := tenant.ValidateResourceServer(doc)
		if err != nil {
			return validationError(err)
		}
		checked.Doc["id"] = rec.ID
		rec.Data, rec.UpdatedAt = tenant.EncodeDocument(checked.Doc), a.Now()
		st.ResourceServers[i] = rec
		warnings = warns
		out, err = resourceServerBody(rec, checked.Value)
		return err
	})
	if err != nil {
		return err
	}
	a.warn("resource server", id, warnings)
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// deleteResourceServer deletes a resource server and the client grants to
// it.
func (a *API) deleteResourceServer(w http.ResponseWriter, r *http.Request, _ *Call) error {
	err := a.UpdateTenant(r.Context(), func(st *store.TenantState) error {
		i := resourceServerIndex(st.ResourceServers, r.PathValue("id"))
		if i < 0 {
			return errResourceServerNotFound
		}
		identifier := st.ResourceServers[i].Identifier
		st.ResourceServers = slices.Delete(st.ResourceServers, i, i+1)
		st.ClientGrants = slices.DeleteFunc(st.ClientGrants, func(g store.ClientGrantRecord) bool { return g.Audience == identifier })
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
