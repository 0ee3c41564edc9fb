package management

import (
	"context"
	"errors"
	"strings"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// UpdateTenant changes the stored tenant for a route that writes it: fn
// runs on the stored state inside one transaction (it may run more than
// once if the store retries, so it keeps nothing outside its result), and
// the tenant it leaves is written only if it holds together
// (tenant.CheckTenant: a duplicate name is a 409, a reference to nothing a
// 400) and would go into service (every template renders). Then this
// replica serves it at once (Live.Reload); the others follow at their next
// reload. An error from fn is returned as it is.
func (a *API) UpdateTenant(ctx context.Context, fn func(*store.TenantState) error) error {
	err := a.Store.UpdateTenant(ctx, func(st *store.TenantState) error {
		if err := fn(st); err != nil {
			return err
		}
		t, err := tenant.FromState(*st)
		if err != nil {
			return err
		}
		if cs := tenant.CheckTenant(t); len(cs) > 0 {
			return conflictError(cs[0])
		}
		if err := a.Live.Check(t); err != nil {
			return InvalidBody(err.Error())
		}
		return nil
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return Conflict("An object with the same identifier already exists")
	}
	if err != nil {
		return err
	}
	// Stored: whatever Reload says, the change is made, and a later reload
	// serves it.
	if _, err := a.Live.Reload(ctx); err != nil {
		a.Logger.Warn("reload the tenant after a Management API change", "err", err)
	}
	return nil
}

// conflictError answers a conflict between the objects of the tenant a
// write would leave: two objects with one name is Auth0's 409, anything
// else a 400 naming the field.
func conflictError(c tenant.Conflict) *Error {
	if strings.HasPrefix(c.Message, "duplicate") {
		switch c.Section {
		case "clients":
			if strings.Contains(c.Message, "client_id") {
				return Conflict("A client with the same client_id already exists")
			}
			return Conflict("A client with the same name already exists")
		case "connections":
			return Conflict("A connection with the same name already exists")
		case "resourceServers":
			return Conflict("A resource server with the same identifier already exists")
		case "clientGrants":
			return Conflict("A client grant for this client and audience already exists")
		}
	}
	return InvalidBody(c.Message)
}

// validationError answers what tenant.ValidateClient and its siblings
// found wrong: a *tenant.ValidationError is a 400 listing every problem;
// anything else is returned as it is.
func validationError(err error) error {
	var ve *tenant.ValidationError
	if errors.As(err, &ve) {
		return InvalidBody(strings.Join(ve.Problems, "; "))
	}
	return err
}

// mergeTop merges a PATCH body onto a stored document, field by field at
// the top level: a field in the body replaces the stored one whole (an
// object, such as a connection's options, included), null removes it.
func mergeTop(doc, body map[string]any) {
	for k, v := range body {
		if v == nil {
			delete(doc, k)
		} else {
			doc[k] = v
		}
	}
}

// immutable refuses a PATCH body that changes a field that cannot change;
// the same value is accepted, so that an object read and sent back whole
// updates.
func immutable(body map[string]any, field, current string) error {
	v, ok := body[field]
	if !ok {
		return nil
	}
	if s, _ := v.(string); s == current {
		return nil
	}
	return InvalidBody("field \"" + field + "\" cannot be changed")
}

// givenID is the id a POST body gives its object, or "" when it gives
// none. Sesame keeps an id given at creation, so that a tenant moved from
// Auth0 keeps its ids; it must be a plain token that fits in a path.
func givenID(body map[string]any, field string) (string, error) {
	v, ok := body[field]
	if !ok || v == nil {
		return "", nil
	}
	s, _ := v.(string)
	if s == "" || len(s) > 128 || strings.ContainsAny(s, " \t\r\n/?#%") {
		return "", InvalidBody("field \"" + field + "\": want an identifier without spaces or /, at most 128 characters")
	}
	return s, nil
}

// decodeStored decodes a stored document for an answer or a merge. A
// document that does not decode is the store's failure, not the caller's.
func decodeStored(data []byte) (map[string]any, error) {
	return tenant.DecodeDocument(data)
}
