// Package secrets holds the master keys that live outside the database: the
// keys from which the code HMAC key and the outbox sealing key are derived,
// so that a copy of the database alone cannot check a code offline or read
// queued mail.
//
// A key set is JSON, {"keys":[{"id":"2026-12","secret":"<base64 of 32
// bytes>"}, ...]}: the first key is current (new rows use it), the others are
// still read (rows made under them stay valid until they expire). It comes
// from a file (--secrets-file) or inline from the environment.
package secrets

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// Purposes of derived keys. Each is an HKDF info string; a key derived for
// one purpose says nothing about the key for another.
const (
	PurposeCodeHMAC   = "sesame code hmac"
	PurposeOutboxSeal = "sesame outbox seal"
)

// LegacyID names the keys kept in the database by versions before the key
// set existed. It cannot be the id of a configured key.
const LegacyID = "db"

// keyLen is the length of a master key and of every derived key.
const keyLen = 32

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Key is one master key. Secret is never logged.
type Key struct {
	ID     string
	Secret []byte
}

// Set is a non-empty list of master keys, the first current.
type Set struct {
	keys []Key
}

type fileKey struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

type fileFormat struct {
	Keys []fileKey `json:"keys"`
}

// Parse reads a key set from its JSON form. Errors never quote a secret.
func Parse(b []byte) (*Set, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f fileFormat
	if err := dec.Decode(&f); err != nil {
		// The decoder's message can quote input; say only where it failed.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("secrets: not valid JSON (at byte %d)", se.Offset)
		}
		return nil, errors.New(`secrets: not a key set: want {"keys":[{"id":"...","secret":"<base64>"}]}`)
	}
	if len(f.Keys) == 0 {
		return nil, errors.New("secrets: the key set has no keys")
	}
	s := &Set{}
	seen := map[string]bool{}
	for i, k := range f.Keys {
		if !idPattern.MatchString(k.ID) {
			return nil, fmt.Errorf("secrets: key %d: id must be 1 to 64 letters, digits, '.', '_' or '-'", i+1)
		}
		if k.ID == LegacyID {
			return nil, fmt.Errorf("secrets: key %d: id %q is reserved for the keys kept in the database by earlier versions", i+1, LegacyID)
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("secrets: key id %q appears twice", k.ID)
		}
		seen[k.ID] = true
		secret, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("secrets: key %q: secret is not standard base64", k.ID)
		}
		if len(secret) != keyLen {
			return nil, fmt.Errorf("secrets: key %q: secret must be %d bytes, got %d", k.ID, keyLen, len(secret))
		}
		s.keys = append(s.keys, Key{ID: k.ID, Secret: secret})
	}
	return s, nil
}

// Load reads a key set from a file. The file must not be readable by group
// or others: it is as sensitive as the database's whole contents.
func Load(path string) (*Set, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secrets: %s is readable by others (mode %o): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Generate returns a set of one new random key, named after the current
// month (with a suffix if that id is taken in avoid).
func Generate(now time.Time, avoid *Set) (*Set, error) {
	secret := make([]byte, keyLen)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	base := now.UTC().Format("2006-01")
	id := base
	for n := 2; avoid != nil && avoid.has(id); n++ {
		id = fmt.Sprintf("%s.%d", base, n)
	}
	return &Set{keys: []Key{{ID: id, Secret: secret}}}, nil
}

// Rotate returns a set with a new random current key before all of s's keys.
func (s *Set) Rotate(now time.Time) (*Set, error) {
	n, err := Generate(now, s)
	if err != nil {
		return nil, err
	}
	n.keys = append(n.keys, s.keys...)
	return n, nil
}

func (s *Set) has(id string) bool {
	for _, k := range s.keys {
		if k.ID == id {
			return true
		}
	}
	return false
}

// Marshal returns the JSON form of s, which Parse reads.
func (s *Set) Marshal() []byte {
	var f fileFormat
	for _, k := range s.keys {
		f.Keys = append(f.Keys, fileKey{ID: k.ID, Secret: base64.StdEncoding.EncodeToString(k.Secret)})
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return append(b, '\n')
}

// WriteFile writes s to path with mode 0600, replacing the file atomically
// (a temporary file in the same directory, then a rename), so that a crash
// never leaves half a key set.
func (s *Set) WriteFile(path string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("secrets: %w", err)
	}
	if _, err := tmp.Write(s.Marshal()); err != nil {
		tmp.Close()
		return fmt.Errorf("secrets: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("secrets: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	return nil
}

// CreateFile writes s to path with mode 0600 only if no file is there; it
// returns an error wrapping fs.ErrExist otherwise. The whole file is written
// beside path first and then hard-linked into place, so that two processes
// starting at once cannot both write a key set, and neither reads half of
// the other's.
func (s *Set) CreateFile(path string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("secrets: %w", err)
	}
	if _, err := tmp.Write(s.Marshal()); err != nil {
		tmp.Close()
		return fmt.Errorf("secrets: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("secrets: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	return nil
}

// IsExist reports whether err says the file CreateFile would make exists.
func IsExist(err error) bool { return errors.Is(err, fs.ErrExist) }

// Current returns the id of the key new rows use.
func (s *Set) Current() string { return s.keys[0].ID }

// IDs returns the ids of every key, the current first.
func (s *Set) IDs() []string {
	ids := make([]string, len(s.keys))
	for i, k := range s.keys {
		ids[i] = k.ID
	}
	return ids
}

// DerivedKey is a key for one purpose, named by the master key it comes
// from.
type DerivedKey struct {
	ID  string
	Key []byte
}

// Derive returns the keys for purpose, one per master key, the current
// first: HKDF-SHA256 with the master key as input keying material, no salt
// and purpose as info.
func (s *Set) Derive(purpose string) ([]DerivedKey, error) {
	out := make([]DerivedKey, len(s.keys))
	for i, k := range s.keys {
		d, err := hkdf.Key(sha256.New, k.Secret, nil, purpose, keyLen)
		if err != nil {
			return nil, fmt.Errorf("secrets: derive: %w", err)
		}
		out[i] = DerivedKey{ID: k.ID, Key: d}
	}
	return out, nil
}
