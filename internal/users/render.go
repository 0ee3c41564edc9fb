package users

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// Profile is a user in the shape of Auth0's Management API (spec §8), what
// GET /api/v2/users/{id} answers and every user list holds. A field Auth0
// leaves out for such a user is left out: the email fields of an sms user
// without an address, the phone fields of an email user without a number,
// the login fields before the first login, metadata that is empty, blocked
// unless the user is blocked.
type Profile struct {
	UserID        string          `json:"user_id"`
	Email         string          `json:"email,omitempty"`
	EmailVerified *bool           `json:"email_verified,omitempty"`
	PhoneNumber   string          `json:"phone_number,omitempty"`
	PhoneVerified *bool           `json:"phone_verified,omitempty"`
	Name          string          `json:"name,omitempty"`
	Nickname      string          `json:"nickname,omitempty"`
	Picture       string          `json:"picture,omitempty"`
	GivenName     string          `json:"given_name,omitempty"`
	FamilyName    string          `json:"family_name,omitempty"`
	Identities    []Identity      `json:"identities"`
	CreatedAt     string          `json:"created_at"`
	UpdatedAt     string          `json:"updated_at"`
	LastLogin     string          `json:"last_login,omitempty"`
	LastIP        string          `json:"last_ip,omitempty"`
	LoginsCount   int             `json:"logins_count,omitempty"`
	UserMetadata  json.RawMessage `json:"user_metadata,omitempty"`
	AppMetadata   json.RawMessage `json:"app_metadata,omitempty"`
	Blocked       bool            `json:"blocked,omitempty"`
}

// Identity is one of a user's identities: a passwordless user has one, on
// their connection, whose user_id is theirs without the provider's prefix.
type Identity struct {
	Connection string `json:"connection"`
	Provider   string `json:"provider"`
	UserID     string `json:"user_id"`
	IsSocial   bool   `json:"isSocial"`
}

// timeFormat is how Auth0 writes times: UTC, milliseconds, a Z.
const timeFormat = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

// Render is u in Auth0's shape.
func Render(u store.User) Profile {
	_, id, ok := strings.Cut(u.UserID, "|")
	if !ok {
		id = u.UserID
	}
	p := Profile{
		UserID:      u.UserID,
		Email:       u.Email,
		PhoneNumber: u.PhoneNumber,
		Name:        u.Name,
		Nickname:    u.Nickname,
		Picture:     u.Picture,
		GivenName:   u.GivenName,
		FamilyName:  u.FamilyName,
		Identities: []Identity{{
			Connection: u.Connection,
			Provider:   u.Strategy,
			UserID:     id,
		}},
		CreatedAt:    formatTime(u.CreatedAt),
		UpdatedAt:    formatTime(u.UpdatedAt),
		LastLogin:    formatTime(u.LastLogin),
		LastIP:       u.LastIP,
		LoginsCount:  u.LoginsCount,
		UserMetadata: u.UserMetadata,
		AppMetadata:  u.AppMetadata,
		Blocked:      u.Blocked,
	}
	if u.Email != "" {
		p.EmailVerified = &u.EmailVerified
	}
	if u.PhoneNumber != "" {
		p.PhoneVerified = &u.PhoneVerified
	}
	return p
}

// RenderAll is Render of each user, in order; never nil.
func RenderAll(users []store.User) []Profile {
	out := make([]Profile, 0, len(users))
	for _, u := range users {
		out = append(out, Render(u))
	}
	return out
}
