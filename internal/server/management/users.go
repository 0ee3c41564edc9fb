package management

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
	"github.com/sesame-id/sesame/internal/users"
)

// Users: /api/v2/users and /api/v2/users-by-email, the users of the email
// and sms connections. The rules are internal/users'; this file decodes the
// requests and writes the answers.

func (a *API) userRoutes(rt *Router) {
	rt.Handle("GET /api/v2/users", []string{"read:users"}, a.listUsers)
	rt.Handle("POST /api/v2/users", []string{"create:users"}, a.createUser)
	rt.Handle("GET /api/v2/users/{id}", []string{"read:users"}, a.getUser)
	rt.Handle("PATCH /api/v2/users/{id}", []string{"update:users"}, a.updateUser)
	rt.Handle("DELETE /api/v2/users/{id}", []string{"delete:users"}, a.deleteUser)
	rt.Handle("GET /api/v2/users-by-email", []string{"read:users"}, a.usersByEmail)
}

// userError turns an error of internal/users into the Management API's
// answer: not found 404, conflict 409, anything invalid 400, each with the
// users package's errorCode and message. Other errors go on as they are.
func userError(err error) error {
	var ue *users.Error
	if !errors.As(err, &ue) {
		return err
	}
	status := http.StatusBadRequest
	switch ue.Kind {
	case fault.NotFound:
		status = http.StatusNotFound
	case fault.Conflict:
		status = http.StatusConflict
	}
	return NewError(status, ue.Code, ue.Message)
}

// userBody is u in Auth0's shape with only the fields f asks for.
func userBody(u store.User, f Fields) (map[string]any, error) {
	b, err := json.Marshal(users.Render(u))
	if err != nil {
		return nil, err
	}
	m, err := tenant.DecodeDocument(b)
	if err != nil {
		return nil, err
	}
	return f.Apply(m), nil
}

func userBodies(us []store.User, f Fields) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(us))
	for _, u := range us {
		m, err := userBody(u, f)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// userFieldsBody holds the fields of a user that POST and PATCH both take.
// A field Sesame has no use for (password, username, user_id…) is refused
// by name, never dropped.
type userFieldsBody struct {
	Email         *string         `json:"email"`
	PhoneNumber   *string         `json:"phone_number"`
	EmailVerified *bool           `json:"email_verified"`
	PhoneVerified *bool           `json:"phone_verified"`
	VerifyEmail   *bool           `json:"verify_email"`
	Name          *string         `json:"name"`
	Nickname      *string         `json:"nickname"`
	Picture       *string         `json:"picture"`
	GivenName     *string         `json:"given_name"`
	FamilyName    *string         `json:"family_name"`
	UserMetadata  json.RawMessage `json:"user_metadata"`
	AppMetadata   json.RawMessage `json:"app_metadata"`
	Blocked       *bool           `json:"blocked"`
	Connection    *string         `json:"connection"`
	// Fields of Auth0's user that Sesame's users cannot have, refused
	// with a reason (rather than as unknown).
	Password json.RawMessage `json:"password"`
	Username json.RawMessage `json:"username"`
	UserID   json.RawMessage `json:"user_id"`
}

// check refuses what Sesame cannot do: a password or a username (its
// connections are passwordless), a user_id of the caller's choosing, a
// verification email (a passwordless login verifies the address).
func (b *userFieldsBody) check() error {
	switch {
	case b.Password != nil:
		return InvalidBody(`field "password": Sesame's connections are passwordless`)
	case b.Username != nil:
		return InvalidBody(`field "username": Sesame's users log in with their email address or phone number`)
	case b.UserID != nil:
		return InvalidBody(`field "user_id": Sesame makes the user_id (<strategy>|<24 hex>)`)
	}
	if b.VerifyEmail != nil && *b.VerifyEmail {
		return InvalidBody(`field "verify_email": Sesame sends no verification emails; a passwordless login verifies the address (set email_verified instead)`)
	}
	return nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func boolean(p *bool) bool { return p != nil && *p }

func (a *API) createUser(w http.ResponseWriter, r *http.Request, c *Call) error {
	var body userFieldsBody
	if err := DecodeBodyInto(r, &body); err != nil {
		return err
	}
	if err := body.check(); err != nil {
		return err
	}
	name := str(body.Connection)
	if name == "" {
		return InvalidBody("Missing required property: connection")
	}
	conn := c.Tenant.Connection(name)
	if conn == nil {
		return NewError(http.StatusBadRequest, "inexistent_connection", "The connection does not exist.")
	}
	u, err := a.Users.Create(r.Context(), conn, users.CreateRequest{
		Email: str(body.Email), PhoneNumber: str(body.PhoneNumber),
		EmailVerified: boolean(body.EmailVerified), PhoneVerified: boolean(body.PhoneVerified),
		Name: str(body.Name), Nickname: str(body.Nickname), Picture: str(body.Picture),
		GivenName: str(body.GivenName), FamilyName: str(body.FamilyName),
		UserMetadata: body.UserMetadata, AppMetadata: body.AppMetadata, Blocked: boolean(body.Blocked),
	})
	if err != nil {
		return userError(err)
	}
	out, err := userBody(u, Fields{})
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request, _ *Call) error {
	fields, err := ParseFields(r)
	if err != nil {
		return err
	}
	u, err := a.Users.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return userError(err)
	}
	out, err := userBody(u, fields)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request, _ *Call) error {
	var body userFieldsBody
	if err := DecodeBodyInto(r, &body); err != nil {
		return err
	}
	if err := body.check(); err != nil {
		return err
	}
	id := r.PathValue("id")
	if body.Connection != nil {
		// Auth0 takes the connection beside an email or phone change;
		// a user has one, and stays on it.
		u, err := a.Users.Get(r.Context(), id)
		if err != nil {
			return userError(err)
		}
		if *body.Connection != u.Connection {
			return InvalidBody(`field "connection": the user is on connection "` + u.Connection + `" and cannot move to another`)
		}
	}
	u, err := a.Users.Update(r.Context(), id, users.Patch{
		Email: body.Email, PhoneNumber: body.PhoneNumber,
		EmailVerified: body.EmailVerified, PhoneVerified: body.PhoneVerified,
		Name: body.Name, Nickname: body.Nickname, Picture: body.Picture,
		GivenName: body.GivenName, FamilyName: body.FamilyName,
		UserMetadata: body.UserMetadata, AppMetadata: body.AppMetadata, Blocked: body.Blocked,
	})
	if err != nil {
		return userError(err)
	}
	out, err := userBody(u, Fields{})
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, _ *Call) error {
	if err := a.Users.Delete(r.Context(), r.PathValue("id")); err != nil {
		return userError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, c *Call) error {
	p, err := ParsePage(r)
	if err != nil {
		return err
	}
	fields, err := ParseFields(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	switch q.Get("search_engine") {
	case "", "v2", "v3":
		// Sesame's search answers the same subset of q for both.
	case "v1":
		return InvalidQuery("'search_engine v1 is not available: use v3' on property search_engine")
	default:
		return InvalidQuery("'No enum match for: " + q.Get("search_engine") + "' on property search_engine")
	}
	// Auth0's primary_order (the order of the results) is accepted; the
	// order is sort's.
	if _, err := QueryBool(r, "primary_order", true); err != nil {
		return err
	}
	// A connection named, by the parameter or in q, must be one the
	// tenant has (a deleted connection's users are still listed without
	// the filter).
	conn := q.Get("connection")
	named := []string{conn}
	if field, value, err := users.ParseQuery(q.Get("q")); err == nil && field == users.FieldConnection {
		named = append(named, value)
	}
	for _, n := range named {
		if n != "" && c.Tenant.Connection(n) == nil {
			return NewError(http.StatusBadRequest, "inexistent_connection", "The connection does not exist.")
		}
	}
	page, err := a.Users.List(r.Context(), users.ListRequest{
		Q: q.Get("q"), Sort: q.Get("sort"), Connection: conn, Page: p.Number, PerPage: p.PerPage,
	})
	if err != nil {
		return userError(err)
	}
	out, err := userBodies(page.Users, fields)
	if err != nil {
		return err
	}
	WriteList(w, p, "users", out, page.Total)
	return nil
}

func (a *API) usersByEmail(w http.ResponseWriter, r *http.Request, _ *Call) error {
	fields, err := ParseFields(r)
	if err != nil {
		return err
	}
	us, err := a.Users.ByEmail(r.Context(), r.URL.Query().Get("email"))
	if err != nil {
		return userError(err)
	}
	out, err := userBodies(us, fields)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}
