// Package users is the Management API's side of end users: creating,
// changing, deleting and finding the users of the email and sms connections
// (POST, PATCH, DELETE, GET /api/v2/users, /api/v2/users-by-email) and
// reading and lifting their brute-force blocks (/api/v2/user-blocks), with
// Auth0's rules and in Auth0's shapes. The HTTP layer decodes a request into
// these types and serialises what comes back; it decides nothing here.
package users

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/sms"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// Error is a domain error of the user endpoints: its kind, and the
// errorCode and message of the Management API's error body.
type Error struct {
	Kind    fault.Kind
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The errors Auth0 answers with, and the codes of the others.
var (
	ErrUserExists   = &Error{Kind: fault.Conflict, Code: "auth0_idp_error", Message: "The user already exists."}
	ErrUserNotFound = &Error{Kind: fault.NotFound, Code: "inexistent_user", Message: "The user does not exist."}
)

const (
	// CodeInvalidBody is a request body that breaks a rule.
	CodeInvalidBody = "invalid_body"
	// CodeInvalidQuery is a query string that breaks a rule.
	CodeInvalidQuery = "invalid_query_string"
	// CodeNotSupported is an operation the connection does not offer.
	CodeNotSupported = "operation_not_supported"
)

func invalidBody(format string, args ...any) *Error {
	return &Error{Kind: fault.Invalid, Code: CodeInvalidBody, Message: "Payload validation error: " + fmt.Sprintf(format, args...)}
}

// Limits of the profile fields, in bytes (Auth0's, where it has one), and
// of each metadata object once merged (ours: a PATCH adds to what is there,
// so the body limit alone does not bound it).
const (
	maxName        = 300
	maxPartName    = 150
	maxPicture     = 2048
	maxMetadata    = 1 << 20
	maxUserIDInput = 512
)

// CreateRequest is the body of POST /api/v2/users, decoded. Connection is
// resolved by the caller; Email or PhoneNumber (the connection's own one)
// is required.
type CreateRequest struct {
	Email         string
	PhoneNumber   string
	EmailVerified bool
	PhoneVerified bool
	Name          string
	Nickname      string
	Picture       string
	GivenName     string
	FamilyName    string
	// UserMetadata and AppMetadata are JSON objects, or nil.
	UserMetadata json.RawMessage
	AppMetadata  json.RawMessage
	Blocked      bool
}

// New is the user POST /api/v2/users makes on conn from req at now: the
// identifier in its canonical form (as a login finds it), a new user_id in
// Auth0's format, a first login's defaults (passwordless.NewUser) for the
// profile fields req leaves empty, nothing verified unless req says so, and
// no login yet.
func New(conn *tenant.Connection, req CreateRequest, now time.Time) (store.User, error) {
	if conn.Strategy != "email" && conn.Strategy != "sms" {
		return store.User{}, &Error{Kind: fault.Invalid, Code: CodeNotSupported,
			Message: "Users of connection " + conn.Name + " cannot be created through this API: only the email and sms connections have users here."}
	}
	email, phone, err := contact(req.Email, req.PhoneNumber)
	if err != nil {
		return store.User{}, err
	}
	identifier := email
	if conn.Strategy == "sms" {
		identifier = phone
		if phone == "" {
			return store.User{}, invalidBody("Missing required property: phone_number")
		}
	} else if email == "" {
		return store.User{}, invalidBody("Missing required property: email")
	}
	u, err := passwordless.NewUser(conn, identifier, now)
	if err != nil {
		return store.User{}, err
	}
	u.Email, u.PhoneNumber = email, phone
	// The rest is what a PATCH of the new user would do: one set of
	// rules for the profile fields and the metadata.
	nonEmpty := func(v string) *string {
		if v == "" {
			return nil // the default stays
		}
		return &v
	}
	p := Patch{
		EmailVerified: &req.EmailVerified, PhoneVerified: &req.PhoneVerified, Blocked: &req.Blocked,
		Name: nonEmpty(req.Name), Nickname: nonEmpty(req.Nickname), Picture: nonEmpty(req.Picture),
		GivenName: nonEmpty(req.GivenName), FamilyName: nonEmpty(req.FamilyName),
		UserMetadata: req.UserMetadata, AppMetadata: req.AppMetadata,
	}
	if err := p.Apply(&u, now); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// contact canonicalises an email address and a phone number as a login
// does (either may be empty).
func contact(rawEmail, rawPhone string) (email, phone string, err error) {
	if rawEmail != "" {
		if email, err = passwordless.CanonicalEmail(rawEmail); err != nil {
			return "", "", invalidBody("Object didn't pass validation for format email: %v", err)
		}
	}
	if rawPhone != "" {
		var perr *sms.Error
		if phone, perr = sms.NormalizePhone(rawPhone); perr != nil {
			return "", "", invalidBody("Object didn't pass validation for format phone_number: %s", perr.Description)
		}
	}
	return email, phone, nil
}

// checkText refuses a profile field that is too long, not UTF-8, or holds
// control characters (PostgreSQL's text refuses NUL; none of them belongs
// in a name or a URL).
func checkText(field, v string, max int) error {
	if len(v) > max {
		return invalidBody("String is too long (%d bytes), maximum %d on property %s", len(v), max, field)
	}
	if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return invalidBody("Object didn't pass validation: control characters or invalid UTF-8 on property %s", field)
	}
	return nil
}

// webURL reports whether s is an absolute http or https URL with a host:
// what an application may put in an <img src> as it is (no javascript: or
// data: URL comes back in an ID token's picture claim).
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.Opaque == ""
}

// mergeMetadata is store.MergeMetadata with Auth0's rules on what metadata
// may hold: property names without '.' and not starting with '$', and ours
// on its size.
func mergeMetadata(field string, stored, patch json.RawMessage) ([]byte, error) {
	if patch != nil {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(patch, &m); err != nil {
			return nil, invalidBody("Expected type object but found another on property %s", field)
		}
		for k := range m {
			if strings.Contains(k, ".") || strings.HasPrefix(k, "$") || k == "" {
				return nil, invalidBody("Metadata property names cannot be empty, contain '.' or start with '$' on property %s", field)
			}
		}
	}
	out, err := store.MergeMetadata(stored, patch)
	if err != nil {
		return nil, invalidBody("Expected type object but found another on property %s", field)
	}
	if len(out) > maxMetadata {
		return nil, invalidBody("%s would be %d bytes, maximum %d", field, len(out), maxMetadata)
	}
	return out, nil
}

// Patch is the body of PATCH /api/v2/users/{id}, decoded: a nil field is
// one the body does not have. UserMetadata and AppMetadata are the JSON
// values given (an object or null), merged by store.MergeMetadata's rule.
type Patch struct {
	Email         *string
	PhoneNumber   *string
	EmailVerified *bool
	PhoneVerified *bool
	Name          *string
	Nickname      *string
	Picture       *string
	GivenName     *string
	FamilyName    *string
	UserMetadata  json.RawMessage
	AppMetadata   json.RawMessage
	Blocked       *bool
}

// Apply makes p's changes to u at now, by Auth0's rules: a new email
// address or phone number is canonicalised as a login does, and when it
// is the one the user logs in with it becomes the user's identifier (the
// store keeps it unique on the connection); a changed address or number is
// no longer verified unless p says it is; an empty one removes it, except
// the one the user logs in with; metadata is merged (store.MergeMetadata);
// blocked turns logins away (store.AllowLogin). On error u may be half
// changed: UpdateUser then writes nothing.
func (p Patch) Apply(u *store.User, now time.Time) error {
	if p.Email != nil {
		email, _, err := contact(*p.Email, "")
		if err != nil {
			return err
		}
		if email == "" && u.Strategy != "sms" {
			return invalidBody("The email of a user of an email connection cannot be removed")
		}
		if email != u.Email {
			u.Email, u.EmailVerified = email, false
			if u.Strategy != "sms" {
				u.Identifier = email
			}
		}
	}
	if p.PhoneNumber != nil {
		_, phone, err := contact("", *p.PhoneNumber)
		if err != nil {
			return err
		}
		if phone == "" && u.Strategy == "sms" {
			return invalidBody("The phone_number of a user of an sms connection cannot be removed")
		}
		if phone != u.PhoneNumber {
			u.PhoneNumber, u.PhoneVerified = phone, false
			if u.Strategy == "sms" {
				u.Identifier = phone
			}
		}
	}
	if p.EmailVerified != nil {
		u.EmailVerified = *p.EmailVerified
	}
	if p.PhoneVerified != nil {
		u.PhoneVerified = *p.PhoneVerified
	}
	for _, f := range []struct {
		name  string
		value *string
		max   int
		to    *string
	}{
		{"name", p.Name, maxName, &u.Name},
		{"nickname", p.Nickname, maxName, &u.Nickname},
		{"picture", p.Picture, maxPicture, &u.Picture},
		{"given_name", p.GivenName, maxPartName, &u.GivenName},
		{"family_name", p.FamilyName, maxPartName, &u.FamilyName},
	} {
		if f.value == nil {
			continue
		}
		if err := checkText(f.name, *f.value, f.max); err != nil {
			return err
		}
		if f.name == "picture" && *f.value != "" && !webURL(*f.value) {
			return invalidBody("Object didn't pass validation for format url: picture must be an absolute http or https URL")
		}
		*f.to = *f.value
	}
	var err error
	if u.UserMetadata, err = mergeMetadata("user_metadata", u.UserMetadata, p.UserMetadata); err != nil {
		return err
	}
	if u.AppMetadata, err = mergeMetadata("app_metadata", u.AppMetadata, p.AppMetadata); err != nil {
		return err
	}
	if p.Blocked != nil {
		u.Blocked = *p.Blocked
	}
	u.UpdatedAt = now
	return nil
}

// Store is the part of the store the user endpoints use.
type Store interface {
	User(ctx context.Context, userID string) (store.User, error)
	CreateUser(ctx context.Context, u store.User) (store.User, error)
	UpdateUser(ctx context.Context, userID string, fn func(*store.User) error) (store.User, error)
	DeleteUser(ctx context.Context, userID string) error
	ListUsers(ctx context.Context, q store.UserQuery) (store.UserPage, error)
	UsersByEmail(ctx context.Context, email string) ([]store.User, error)
	BlocksOf(ctx context.Context, connection, identifier string, now time.Time) ([]store.Block, error)
	ClearBlocks(ctx context.Context, identifier string) (int, error)
	ClearBlocksOf(ctx context.Context, connection, identifier string) (int, error)
}

// Service runs the user endpoints' operations on a store.
type Service struct {
	Store Store
	Now   func() time.Time
}

// Create stores the user New makes of req on conn; ErrUserExists when the
// connection has a user with that identifier.
func (s *Service) Create(ctx context.Context, conn *tenant.Connection, req CreateRequest) (store.User, error) {
	u, err := New(conn, req, s.Now())
	if err != nil {
		return store.User{}, err
	}
	u, err = s.Store.CreateUser(ctx, u)
	if errors.Is(err, store.ErrAlreadyExists) {
		return store.User{}, ErrUserExists
	}
	return u, err
}

// Get returns the user with userID; ErrUserNotFound when there is none.
func (s *Service) Get(ctx context.Context, userID string) (store.User, error) {
	if len(userID) > maxUserIDInput {
		return store.User{}, ErrUserNotFound
	}
	u, err := s.Store.User(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrUserNotFound
	}
	return u, err
}

// Update applies p to the user with userID in one store transaction, so
// that concurrent changes each build on the one before; ErrUserNotFound
// when there is none, ErrUserExists when the new identifier is another
// user's on the connection.
func (s *Service) Update(ctx context.Context, userID string, p Patch) (store.User, error) {
	if len(userID) > maxUserIDInput {
		return store.User{}, ErrUserNotFound
	}
	now := s.Now()
	u, err := s.Store.UpdateUser(ctx, userID, func(u *store.User) error { return p.Apply(u, now) })
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, ErrUserNotFound
	case errors.Is(err, store.ErrAlreadyExists):
		return store.User{}, ErrUserExists
	}
	var e *Error
	if errors.As(err, &e) {
		return store.User{}, e
	}
	return u, err
}

// Delete deletes the user with userID and everything kept for them
// (store.Store.DeleteUser). Deleting a user that does not exist is no
// error, as with Auth0 (DELETE answers 204 either way).
func (s *Service) Delete(ctx context.Context, userID string) error {
	err := s.Store.DeleteUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// ByEmail returns the users with the address email on every connection,
// oldest first (GET /api/v2/users-by-email). The address is canonicalised
// as a login does, so any spelling that logs into an account finds it.
func (s *Service) ByEmail(ctx context.Context, email string) ([]store.User, error) {
	if email == "" {
		return nil, &Error{Kind: fault.Invalid, Code: CodeInvalidQuery, Message: "Query validation error: 'Missing required property: email'"}
	}
	canonical, err := passwordless.CanonicalEmail(email)
	if err != nil {
		return nil, &Error{Kind: fault.Invalid, Code: CodeInvalidQuery, Message: "Query validation error: 'Object didn't pass validation for format email: " + err.Error() + "' on property email"}
	}
	return s.Store.UsersByEmail(ctx, canonical)
}
