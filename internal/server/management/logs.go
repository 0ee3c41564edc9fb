package management

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// Tenant logs: /api/v2/logs. Search by criteria (q, page, per_page, sort,
// include_totals) or by checkpoint (from, take), and one event by its
// log_id.

// Events is the part of the store the logs routes read.
type Events interface {
	Events(ctx context.Context, q store.EventQuery) (store.EventPage, error)
	Event(ctx context.Context, id string) (store.Event, error)
}

// errLogNotFound: Auth0's errorCode for an unknown log_id is not known;
// this follows its other families.
var errLogNotFound = NewError(http.StatusNotFound, "inexistent_log", "The log does not exist")

// DefaultTake is how many events a checkpoint read (from) returns when
// take is absent.
const DefaultTake = 50

func (a *API) logRoutes(rt *Router) {
	rt.Handle("GET /api/v2/logs", []string{"read:logs"}, a.listLogs)
	rt.Handle("GET /api/v2/logs/{id}", []string{"read:logs"}, a.getLog)
}

func (a *API) listLogs(w http.ResponseWriter, r *http.Request, c *Call) error {
	if a.Logs == nil {
		return errors.New("management: no event store")
	}
	fields, err := ParseFields(r)
	if err != nil {
		return err
	}
	qs := r.URL.Query()
	from, hasFrom := qs.Get("from"), qs.Has("from")
	if hasFrom || qs.Has("take") {
		return a.logsFromCheckpoint(w, r, c, fields, from)
	}
	p, err := ParsePage(r)
	if err != nil {
		return err
	}
	q := store.EventQuery{Page: p.Number, PerPage: p.PerPage, IncludeTotal: p.IncludeTotals}
	switch s := qs.Get("sort"); s {
	case "", "date:-1":
	case "date:1":
		q.Ascending = true
	default:
		return InvalidQuery("'sort' must be date:1 or date:-1 (sorting by other fields is not supported)")
	}
	// The node SDK (auth0 v5 and later, generated from Auth0's API
	// description) sends the query as search; the older SDKs and Auth0's
	// documentation use q. Both are read, q first.
	raw := qs.Get("q")
	if raw == "" {
		raw = qs.Get("search")
	}
	lq, err := ParseLogQuery(raw)
	if err != nil {
		return InvalidQuery(err.Error())
	}
	if lq.None {
		WriteList(w, p, "logs", []map[string]any{}, 0)
		return nil
	}
	q.Types, q.UserID, q.ClientID, q.Since, q.Until = lq.Types, lq.UserID, lq.ClientID, lq.Since, lq.Until
	page, err := a.Logs.Events(r.Context(), q)
	if err != nil {
		return err
	}
	WriteList(w, p, "logs", a.logBodies(page.Events, c.Tenant, fields), page.Total)
	return nil
}

// logsFromCheckpoint answers from=<log_id>&take=N: the events after that
// log_id in log_id order, as a bare array; every other parameter but the
// fields is ignored, as at Auth0. take without from starts at the oldest
// event. A Link header names the next page, as Auth0's does.
func (a *API) logsFromCheckpoint(w http.ResponseWriter, r *http.Request, c *Call, fields Fields, from string) error {
	take, err := queryInt(r.URL.Query().Get("take"), "take", DefaultTake, 1, store.MaxEventPage)
	if err != nil {
		return err
	}
	if len(from) > 64 || strings.Trim(from, "0123456789") != "" {
		return InvalidQuery("'from' must be a log_id (digits)")
	}
	after := from
	if after == "" {
		after = "0" // every log_id is greater
	}
	page, err := a.Logs.Events(r.Context(), store.EventQuery{After: after, Take: take})
	if err != nil {
		return err
	}
	next := from
	if n := len(page.Events); n > 0 {
		next = page.Events[n-1].ID
	}
	if next != "" {
		u := a.Issuer + "api/v2/logs?" + url.Values{"from": {next}, "take": {strconv.Itoa(take)}}.Encode()
		w.Header().Set("Link", "<"+u+`>; rel="next"`)
	}
	WriteJSON(w, http.StatusOK, a.logBodies(page.Events, c.Tenant, fields))
	return nil
}

func (a *API) getLog(w http.ResponseWriter, r *http.Request, c *Call) error {
	if a.Logs == nil {
		return errors.New("management: no event store")
	}
	fields, err := ParseFields(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if len(id) > 64 || id == "" || strings.Trim(id, "0123456789") != "" {
		return errLogNotFound
	}
	e, err := a.Logs.Event(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return errLogNotFound
	}
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, fields.Apply(logBody(e, c.Tenant)))
	return nil
}

func (a *API) logBodies(events []store.Event, t *tenant.Tenant, fields Fields) []map[string]any {
	out := make([]map[string]any, 0, len(events))
	for _, e := range events {
		out = append(out, fields.Apply(logBody(e, t)))
	}
	return out
}

// logBody is an event in the shape of Auth0's log object. Fields Sesame
// does not know are left out rather than made up: hostname, audience
// (except where the event names it), scope, location_info,
// security_context.
func logBody(e store.Event, t *tenant.Tenant) map[string]any {
	m := map[string]any{
		"log_id": e.ID,
		"_id":    e.ID, // Auth0 still sends the log_id under its old name too
		"date":   e.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"type":   e.Type,
	}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("description", e.Description)
	set("client_id", e.ClientID)
	set("client_name", e.ClientName)
	set("connection", e.Connection)
	set("connection_id", e.ConnectionID)
	set("user_id", e.UserID)
	set("user_name", e.Identifier)
	set("ip", e.IP)
	set("user_agent", e.UserAgent)
	if e.UserAgent != "" {
		m["isMobile"] = isMobile(e.UserAgent)
	}
	if len(e.Details) > 0 {
		var d map[string]any
		if json.Unmarshal(e.Details, &d) == nil && d != nil {
			m["details"] = d
			if aud, ok := d["audience"].(string); ok && aud != "" {
				m["audience"] = aud
			}
		}
	}
	// The strategy of the connection, while the tenant has it by that
	// name: email and sms are Auth0's passwordless strategies.
	if e.Connection != "" && t != nil {
		for _, conn := range t.Connections {
			if conn.Name == e.Connection {
				m["strategy"] = conn.Strategy
				if conn.Strategy == "email" || conn.Strategy == "sms" {
					m["strategy_type"] = "passwordless"
				}
				break
			}
		}
	}
	return m
}

// isMobile guesses from a user agent whether it is a phone or tablet, as
// the "Mobi" rule of thumb does, with Android and iOS devices.
func isMobile(ua string) bool {
	for _, s := range []string{"Mobi", "Android", "iPhone", "iPad", "iPod"} {
		if strings.Contains(ua, s) {
			return true
		}
	}
	return false
}
