package management

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// Clients (applications): /api/v2/clients. A client secret is shown twice
// only, in the answer to the POST that made it and to rotate-secret; the
// store keeps its hash.

var errClientNotFound = NewError(http.StatusNotFound, "inexistent_client", "The client does not exist")

func (a *API) clientRoutes(rt *Router) {
	rt.Handle("GET /api/v2/clients", []string{"read:clients", "read:client_keys"}, a.listClients)
	rt.Handle("POST /api/v2/clients", []string{"create:clients"}, a.createClient)
	rt.Handle("GET /api/v2/clients/{id}", []string{"read:clients", "read:client_keys"}, a.getClient)
	rt.Handle("PATCH /api/v2/clients/{id}", []string{"update:clients", "update:client_keys"}, a.updateClient)
	rt.Handle("DELETE /api/v2/clients/{id}", []string{"delete:clients"}, a.deleteClient)
	rt.Handle("POST /api/v2/clients/{id}/rotate-secret", []string{"update:client_keys"}, a.rotateClientSecret)
}

// clientBody is a client as the API answers it: the stored document, over
// which the fields Sesame acts on are written with their defaults (app_type,
// token_endpoint_auth_method, grant_types, jwt_configuration,
// refresh_token…), never the secret.
func clientBody(rec store.ClientRecord, c *tenant.Client) (map[string]any, error) {
	doc, err := decodeStored(rec.Data)
	if err != nil {
		return nil, err
	}
	if err := overlay(doc, c); err != nil {
		return nil, err
	}
	doc["client_id"], doc["name"] = rec.ClientID, rec.Name
	if _, ok := doc["is_first_party"]; !ok {
		doc["is_first_party"] = true // Auth0's default for a client made by the API
	}
	delete(doc, "client_secret")
	return doc, nil
}

// overlay writes the JSON fields of v over doc.
func overlay(doc map[string]any, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	m, err := tenant.DecodeDocument(b)
	if err != nil {
		return err
	}
	for k, x := range m {
		doc[k] = x
	}
	return nil
}

// storedTenant reads the stored tenant and decodes it: the i-th object of
// each list of t is the i-th record of state. Lists answer from it rather
// than from the tenant in service, so that a change made through another
// replica shows at once.
func (a *API) storedTenant(r *http.Request) (store.TenantState, *tenant.Tenant, error) {
	state, err := a.Store.Tenant(r.Context())
	if err != nil {
		return store.TenantState{}, nil, err
	}
	t, err := tenant.FromState(state)
	if err != nil {
		return store.TenantState{}, nil, err
	}
	return state, t, nil
}

func (a *API) listClients(w http.ResponseWriter, r *http.Request, _ *Call) error {
	p, err := ParsePage(r)
	if err != nil {
		return err
	}
	fields, err := ParseFields(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var appTypes []string
	if v := q.Get("app_type"); v != "" {
		appTypes = strings.Split(v, ",")
	}
	firstParty, err := optionalBool(r, "is_first_party")
	if err != nil {
		return err
	}
	global, err := optionalBool(r, "is_global")
	if err != nil {
		return err
	}
	state, t, err := a.storedTenant(r)
	if err != nil {
		return err
	}
	var out []map[string]any
	for i, rec := range state.Clients {
		c := t.Clients[i]
		if appTypes != nil && !slices.Contains(appTypes, c.AppType) {
			continue
		}
		if global != nil && *global { // Sesame has no global client
			continue
		}
		if firstParty != nil && (c.IsFirstParty == nil || *c.IsFirstParty) != *firstParty {
			continue
		}
		body, err := clientBody(rec, c)
		if err != nil {
			return err
		}
		out = append(out, fields.Apply(body))
	}
	WritePage(w, p, "clients", out)
	return nil
}

// optionalBool reads a true/false filter; nil when absent.
func optionalBool(r *http.Request, name string) (*bool, error) {
	if r.URL.Query().Get(name) == "" {
		return nil, nil
	}
	v, err := QueryBool(r, name, false)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func (a *API) getClient(w http.ResponseWriter, r *http.Request, _ *Call) error {
	fields, err := ParseFields(r)
	if err != nil {
		return err
	}
	state, t, err := a.storedTenant(r)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(state.Clients, func(c store.ClientRecord) bool { return c.ClientID == r.PathValue("id") })
	if i < 0 {
		return errClientNotFound
	}
	body, err := clientBody(state.Clients[i], t.Clients[i])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, fields.Apply(body))
	return nil
}

func (a *API) createClient(w http.ResponseWriter, r *http.Request, _ *Call) error {
	body, err := DecodeBody(r)
	if err != nil {
		return err
	}
	id, err := givenID(body, "client_id")
	if err != nil {
		return err
	}
	checked, warnings, err := tenant.ValidateClient(body)
	if err != nil {
		return validationError(err)
	}
	c := checked.Value
	if id == "" {
		if id, err = tenant.NewClientID(); err != nil {
			return err
		}
	}
	// A secret the body gives is the client's; else a confidential client
	// gets one made here. Either is answered this once.
	secret, _ := body["client_secret"].(string)
	hash := c.SecretHash
	if secret == "" && !c.IsPublic() {
		if secret, err = tenant.NewClientSecret(); err != nil {
			return err
		}
		hash = tenant.HashSecret(secret)
	}
	now := a.Now()
	doc := checked.Doc
	doc["client_id"] = id
	rec := store.ClientRecord{ClientID: id, Name: c.Name, SecretHash: hash, Data: tenant.EncodeDocument(doc), CreatedAt: now, UpdatedAt: now}
	if err := a.UpdateTenant(r.Context(), func(st *store.TenantState) error {
		st.Clients = append(st.Clients, rec)
		return nil
	}); err != nil {
		return err
	}
	a.warn("client", id, warnings)
	out, err := clientBody(rec, c)
	if err != nil {
		return err
	}
	if secret != "" {
		out["client_secret"] = secret
	}
	WriteJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) updateClient(w http.ResponseWriter, r *http.Request, _ *Call) error {
	id := r.PathValue("id")
	body, err := DecodeBody(r)
	if err != nil {
		return err
	}
	if err := immutable(body, "client_id", id); err != nil {
		return err
	}
	var out map[string]any
	var warnings []string
	err = a.UpdateTenant(r.Context(), func(st *store.TenantState) error {
		i := slices.IndexFunc(st.Clients, func(c store.ClientRecord) bool { return c.ClientID == id })
		if i < 0 {
			return errClientNotFound
		}
		rec := st.Clients[i]
		doc, err := decodeStored(rec.Data)
		if err != nil {
			return err
		}
		mergeTop(doc, body)
		checked, warns, err := tenant.ValidateClient(doc)
		if err != nil {
			return validationError(err)
		}
		if s, _ := body["client_secret"].(string); s != "" {
			rec.SecretHash = checked.Value.SecretHash // a secret the caller chose
		}
		checked.Doc["client_id"] = id
		rec.Name, rec.Data, rec.UpdatedAt = checked.Value.Name, tenant.EncodeDocument(checked.Doc), a.Now()
		st.Clients[i] = rec
		warnings = warns
		out, err = clientBody(rec, checked.Value)
		return err
	})
	if err != nil {
		return err
	}
	a.warn("client", id, warnings)
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// deleteClient deletes a client with what refers to it, as Auth0 does: its
// client grants, and its place in the connections' enabled_clients.
func (a *API) deleteClient(w http.ResponseWriter, r *http.Request, _ *Call) error {
	id := r.PathValue("id")
	err := a.UpdateTenant(r.Context(), func(st *store.TenantState) error {
		i := slices.IndexFunc(st.Clients, func(c store.ClientRecord) bool { return c.ClientID == id })
		if i < 0 {
			return errClientNotFound
		}
		st.Clients = slices.Delete(st.Clients, i, i+1)
		st.ClientGrants = slices.DeleteFunc(st.ClientGrants, func(g store.ClientGrantRecord) bool { return g.ClientID == id })
		for j, rec := range st.Connections {
			doc, err := decodeStored(rec.Data)
			if err != nil {
				return err
			}
			list, _ := doc["enabled_clients"].([]any)
			kept := slices.DeleteFunc(slices.Clone(list), func(v any) bool { return v == any(id) })
			if len(kept) == len(list) {
				continue
			}
			doc["enabled_clients"] = kept
			rec.Data, rec.UpdatedAt = tenant.EncodeDocument(doc), a.Now()
			st.Connections[j] = rec
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) rotateClientSecret(w http.ResponseWriter, r *http.Request, _ *Call) error {
	id := r.PathValue("id")
	secret, err := tenant.NewClientSecret()
	if err != nil {
		return err
	}
	var out map[string]any
	err = a.UpdateTenant(r.Context(), func(st *store.TenantState) error {
		i := slices.IndexFunc(st.Clients, func(c store.ClientRecord) bool { return c.ClientID == id })
		if i < 0 {
			return errClientNotFound
		}
		rec := st.Clients[i]
		doc, err := decodeStored(rec.Data)
		if err != nil {
			return err
		}
		checked, _, err := tenant.ValidateClient(doc)
		if err != nil {
			return err // a stored client that does not validate is ours to fix
		}
		rec.SecretHash, rec.UpdatedAt = tenant.HashSecret(secret), a.Now()
		st.Clients[i] = rec
		out, err = clientBody(rec, checked.Value)
		return err
	})
	if err != nil {
		return err
	}
	out["client_secret"] = secret
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// warn logs what a written object asks for that Sesame does not do. The
// warnings name fields, never their values.
func (a *API) warn(kind, id string, warnings []string) {
	for _, w := range warnings {
		a.Logger.Info("management API: "+kind+" stored with a warning", "id", id, "warning", w)
	}
}
