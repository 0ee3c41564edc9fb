package delivery

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
)

// Sealer encrypts outbox payloads. A queued email carries the code in
// clear, while the security floor allows codes at rest only as an HMAC, so
// the payload is sealed with AES-256-GCM under a key kept outside the
// database (the key set's outbox key, see internal/secrets).
//
// Two formats exist, told apart by the first byte:
//
//	1: 0x01 || nonce || ciphertext, under the single key earlier versions
//	   kept in the database (the legacy key); read, never written once a
//	   key set is configured.
//	2: 0x02 || len(id) || id || nonce || ciphertext, under the key named id;
//	   the header is authenticated as additional data.
type Sealer struct {
	current string                 // id of the key Seal uses; "" seals format 1 with legacy
	keys    map[string]cipher.AEAD // format 2 keys by id
	legacy  cipher.AEAD            // format 1 key, or nil
}

const (
	sealVersionLegacy = 1
	sealVersionKeyed  = 2
)

// ErrUnsealable is returned by Open for a payload that was not sealed with
// one of this Sealer's keys, or was altered.
var ErrUnsealable = errors.New("delivery: payload cannot be opened")

// SealKey is one outbox key of a key set, named by its id.
type SealKey struct {
	ID  string
	Key []byte
}

// NewSealer returns a Sealer that seals and opens format 1 under one 32-byte
// key. Use a key dedicated to the outbox, never one that also signs or hashes
// something else.
func NewSealer(key []byte) (*Sealer, error) {
	return NewKeyedSealer(nil, key)
}

// NewKeyedSealer returns a Sealer that seals new payloads under keys[0]
// (format 2) and opens payloads sealed under any of keys, or, when legacy is
// not nil, under the legacy in-database key (format 1). With no keys it
// seals format 1 under legacy, as NewSealer.
func NewKeyedSealer(keys []SealKey, legacy []byte) (*Sealer, error) {
	s := &Sealer{keys: map[string]cipher.AEAD{}}
	for _, k := range keys {
		if k.ID == "" || len(k.ID) > 255 {
			return nil, errors.New("delivery: a sealing key id must be 1 to 255 bytes")
		}
		if _, dup := s.keys[k.ID]; dup {
			return nil, fmt.Errorf("delivery: sealing key id %q appears twice", k.ID)
		}
		a, err := newAEAD(k.Key)
		if err != nil {
			return nil, err
		}
		s.keys[k.ID] = a
	}
	if len(keys) > 0 {
		s.current = keys[0].ID
	}
	if legacy != nil {
		a, err := newAEAD(legacy)
		if err != nil {
			return nil, err
		}
		s.legacy = a
	}
	if s.current == "" && s.legacy == nil {
		return nil, errors.New("delivery: a sealer needs a key")
	}
	return s, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("delivery: sealing key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("delivery: sealing key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("delivery: sealing key: %w", err)
	}
	return aead, nil
}

// Seal encrypts e with a fresh random nonce under the current key.
func (s *Sealer) Seal(e Email) ([]byte, error) {
	plain, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("delivery: seal: %w", err)
	}
	var header []byte
	var aead cipher.AEAD
	if s.current != "" {
		aead = s.keys[s.current]
		header = append([]byte{sealVersionKeyed, byte(len(s.current))}, s.current...)
	} else {
		aead = s.legacy
		header = []byte{sealVersionLegacy}
	}
	ns := aead.NonceSize()
	hl := len(header)
	out := make([]byte, hl+ns, hl+ns+len(plain)+aead.Overhead())
	copy(out, header)
	if _, err := rand.Read(out[hl:]); err != nil {
		return nil, fmt.Errorf("delivery: seal: %w", err)
	}
	return aead.Seal(out, out[hl:], plain, out[:hl]), nil
}

// KeyID returns the id of the key a payload was sealed under (LegacyKeyID
// for format 1), or "" when b is not a sealed payload.
func KeyID(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	switch b[0] {
	case sealVersionLegacy:
		return LegacyKeyID
	case sealVersionKeyed:
		if len(b) < 2 || int(b[1]) == 0 || len(b) < 2+int(b[1]) {
			return ""
		}
		return string(b[2 : 2+int(b[1])])
	}
	return ""
}

// LegacyKeyID is what KeyID says of a payload sealed in format 1.
const LegacyKeyID = "db"

// Open decrypts a payload made by Seal. Anything else, including a payload
// sealed under a key this Sealer lacks or changed by one bit, yields
// ErrUnsealable.
func (s *Sealer) Open(b []byte) (Email, error) {
	var aead cipher.AEAD
	var hl int
	switch {
	case len(b) > 0 && b[0] == sealVersionLegacy:
		aead, hl = s.legacy, 1
	case len(b) > 1 && b[0] == sealVersionKeyed:
		hl = 2 + int(b[1])
		if b[1] == 0 || len(b) < hl {
			return Email{}, ErrUnsealable
		}
		aead = s.keys[string(b[2:hl])]
	}
	if aead == nil {
		return Email{}, ErrUnsealable
	}
	ns := aead.NonceSize()
	if len(b) < hl+ns+aead.Overhead() {
		return Email{}, ErrUnsealable
	}
	plain, err := aead.Open(nil, b[hl:hl+ns], b[hl+ns:], b[:hl])
	if err != nil {
		return Email{}, ErrUnsealable
	}
	var e Email
	if err := json.Unmarshal(plain, &e); err != nil {
		return Email{}, fmt.Errorf("%w: %v", ErrUnsealable, err)
	}
	return e, nil
}
