package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// The rules about users that every backend applies the same way: a backend
// reads the user's row in its transaction, asks these functions, and writes
// what they say.

// AllowLogin says whether the stored user u may log in: ErrUserBlocked when
// an operator blocked them (Auth0's `blocked: true`), else nil.
func AllowLogin(u User) error {
	if u.Blocked {
		return ErrUserBlocked
	}
	return nil
}

// ErrUserChange is what CheckUserUpdate answers when an update touched what
// no update may change.
var ErrUserChange = errors.New("store: an update may not change a user's user_id, connection, strategy or creation time, nor leave it without an identifier")

// CheckUserUpdate says whether UpdateUser may store next in place of old:
// the UserID, Connection, Strategy and CreatedAt stay as they were, and the
// Identifier is not empty.
func CheckUserUpdate(old, next User) error {
	if next.UserID != old.UserID || next.Connection != old.Connection || next.Strategy != old.Strategy ||
		!next.CreatedAt.Equal(old.CreatedAt) || next.Identifier == "" {
		return fmt.Errorf("update user %s: %w", old.UserID, ErrUserChange)
	}
	return nil
}

// MergeMetadata is Auth0's rule for a PATCH of user_metadata or
// app_metadata: stored is the stored object (nil for none), patch the
// value the PATCH gave (nil when it gave none). The patch's top-level
// properties replace the stored ones (a nested object is replaced whole,
// not merged), a property set to null is removed, and a patch that is null
// or the empty object removes the metadata altogether. The result is a
// compact JSON object with its properties in sorted order, or nil for
// none. A patch that is not a JSON object or null is an error, and so is a
// stored value that is not an object.
func MergeMetadata(stored, patch []byte) ([]byte, error) {
	if patch == nil {
		return stored, nil
	}
	var p map[string]json.RawMessage
	if err := decodeObject(patch, &p); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	if len(p) == 0 {
		return nil, nil // null or {}: the metadata goes
	}
	var m map[string]json.RawMessage
	if stored != nil {
		if err := decodeObject(stored, &m); err != nil {
			return nil, fmt.Errorf("stored metadata: %w", err)
		}
	}
	if m == nil {
		m = make(map[string]json.RawMessage, len(p))
	}
	for k, v := range p {
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	if len(m) == 0 {
		return nil, nil
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return out, nil
}

// decodeObject decodes b, a JSON object or null, into *m.
func decodeObject(b []byte, m *map[string]json.RawMessage) error {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || (t[0] != '{' && !bytes.Equal(t, []byte("null"))) {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(t, m)
}
