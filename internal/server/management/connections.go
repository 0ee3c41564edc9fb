package management

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// Connections: /api/v2/connections. enabled_clients holds client_ids.

var errConnectionNotFound = NewError(http.StatusNotFound, "inexistent_connection", "The connection does not exist")

func (a *API) connectionRoutes(rt *Router) {
	rt.Handle("GET /api/v2/connections", []string{"read:connections"}, a.listConnections)
	rt.Handle("POST /api/v2/connections", []string{"create:connections"}, a.createConnection)
	rt.Handle("GET /api/v2/connections/{id}", []string{"read:connections"}, a.getConnection)
	rt.Handle("PATCH /api/v2/connections/{id}", []string{"update:connections"}, a.updateConnection)
	rt.Handle("DELETE /api/v2/connections/{id}", []string{"delete:connections"}, a.deleteConnection)
}

// connectionBody is a connection as the API answers it: the stored
// document with its id, name, strategy and realms, and empty
// enabled_clients and options when it has none.
func connectionBody(rec store.ConnectionRecord, c *tenant.Connection) (map[string]any, error) {
	doc, err := decodeStored(rec.Data)
	if err != nil {
		return nil, err
	}
	doc["id"], doc["name"], doc["strategy"] = rec.ID, rec.Name, rec.Strategy
	doc["realms"] = c.Realms
	if _, ok := doc["enabled_clients"]; !ok {
		doc["enabled_clients"] = []any{}
	}
	if _, ok := doc["options"]; !ok {
		doc["options"] = map[string]any{}
	}
	if _, ok := doc["is_domain_connection"]; !ok {
		doc["is_domain_connection"] = false
	}
	return doc, nil
}

func (a *API) listConnections(w http.ResponseWriter, r *http.Request, _ *Call) error {
	p, err := ParsePage(r)
	if err != nil {
		return err
	}
	fields, err := ParseFields(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	// strategy may repeat, or list several comma-separated.
	var strategies []string
	for _, v := range q["strategy"] {
		strategies = append(strategies, strings.Split(v, ",")...)
	}
	name := q.Get("name")
	state, t, err := a.storedTenant(r)
	if err != nil {
		return err
	}
	var out []map[string]any
	for i, rec := range state.Connections {
		if strategies != nil && !slices.Contains(strategies, rec.Strategy) || name != "" && rec.Name != name {
			continue
		}
		body, err := connectionBody(rec, t.Connections[i])
		if err != nil {
			return err
		}
		out = append(out, fields.Apply(body))
	}
	WritePage(w, p, "connections", out)
	return nil
}

func (a *API) getConnection(w http.ResponseWriter, r *http.Request, _ *Call) error {
	fields, err := ParseFields(r)
	if err != nil {
		return err
	}
	state, t, err := a.storedTenant(r)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(state.Connections, func(c store.ConnectionRecord) bool { return c.ID == r.PathValue("id") })
	if i < 0 {
		return errConnectionNotFound
	}
	body, err := connectionBody(state.Connections[i], t.Connections[i])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, fields.Apply(body))
	return nil
}

// checkEnabledClients refuses enabled_clients that are not client_ids of
// the stored tenant (the tenant file may name clients; the API may not).
func checkEnabledClients(st *store.TenantState, ids []string) error {
	for j, id := range ids {
		if !slices.ContainsFunc(st.Clients, func(c store.ClientRecord) bool { return c.ClientID == id }) {
			return InvalidBody(fmt.Sprintf("field \"enabled_clients[%d]\": unknown client %q", j, id))
		}
	}
	return nil
}

func (a *API) createConnection(w http.ResponseWriter, r *http.Request, _ *Call) error {
	body, err := DecodeBody(r)
	if err != nil {
		return err
	}
	id, err := givenID(body, "id")
	if err != nil {
		return err
	}
	checked, warnings, err := tenant.ValidateConnection(body)
	if err != nil {
		return validationError(err)
	}
	c := checked.Value
	if id == "" {
		if id, err = tenant.NewConnectionID(); err != nil {
			return err
		}
	}
	now := a.Now()
	checked.Doc["id"] = id
	rec := store.ConnectionRecord{ID: id, Name: c.Name, Strategy: c.Strategy, Data: tenant.EncodeDocument(checked.Doc), CreatedAt: now, UpdatedAt: now}
	if err := a.UpdateTenant(r.Context(), func(st *store.TenantState) error {
		if err := checkEnabledClients(st, c.EnabledClients); err != nil {
			return err
		}
		st.Connections = append(st.Connections, rec)
		return nil
	}); err != nil {
		return err
	}
	a.warn("connection", id, warnings)
	out, err := connectionBody(rec, c)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, out)
	return nil
}

// updateConnection merges the body onto the stored connection; options, if
// given, replace the stored options whole (as Auth0 documents). The name
// and strategy cannot change.
func (a *API) updateConnection(w http.ResponseWriter, r *http.Request, _ *Call) error {
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
		i := slices.IndexFunc(st.Connections, func(c store.ConnectionRecord) bool { return c.ID == id })
		if i < 0 {
			return errConnectionNotFound
		}
		rec := st.Connections[i]
		if err := immutable(body, "name", rec.Name); err != nil {
			return err
		}
		if err := immutable(body, "strategy", rec.Strategy); err != nil {
			return err
		}
		doc, err := decodeStored(rec.Data)
		if err != nil {
			return err
		}
		mergeTop(doc, body)
		checked, warns, err := tenant.ValidateConnection(doc)
		if err != nil {
			return validationError(err)
		}
		if err := checkEnabledClients(st, checked.Value.EnabledClients); err != nil {
			return err
		}
		checked.Doc["id"] = id
		rec.Data, rec.UpdatedAt = tenant.EncodeDocument(checked.Doc), a.Now()
		st.Connections[i] = rec
		warnings = warns
		out, err = connectionBody(rec, checked.Value)
		return err
	})
	if err != nil {
		return err
	}
	a.warn("connection", id, warnings)
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// deleteConnection answers 202 with deleted_at, as Auth0 does. The users of
// the connection are not deleted.
func (a *API) deleteConnection(w http.ResponseWriter, r *http.Request, _ *Call) error {
	id := r.PathValue("id")
	err := a.UpdateTenant(r.Context(), func(st *store.TenantState) error {
		i := slices.IndexFunc(st.Connections, func(c store.ConnectionRecord) bool { return c.ID == id })
		if i < 0 {
			return errConnectionNotFound
		}
		st.Connections = slices.Delete(st.Connections, i, i+1)
		return nil
	})
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusAccepted, map[string]string{"deleted_at": a.Now().UTC().Format(timeFormat)})
	return nil
}

// timeFormat is how Auth0 writes times: ISO 8601 in UTC with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z"
