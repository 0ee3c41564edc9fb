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
// the payload is sealed with AES-256-GCM under a key kept in the store.
type Sealer struct {
	aead cipher.AEAD
}

// sealVersion is the first byte of every sealed payload, so that the format
// can change without misreading old rows.
const sealVersion = 1

// ErrUnsealable is returned by Open for a payload that was not sealed with
// this key, or was altered.
var ErrUnsealable = errors.New("delivery: payload cannot be opened")

// NewSealer returns a Sealer for a 32-byte key. Use a key dedicated to the
// outbox, never one that also signs or hashes something else.
func NewSealer(key []byte) (*Sealer, error) {
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
	return &Sealer{aead: aead}, nil
}

// Seal encrypts e with a fresh random nonce: version || nonce || ciphertext.
func (s *Sealer) Seal(e Email) ([]byte, error) {
	plain, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("delivery: seal: %w", err)
	}
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("delivery: seal: %w", err)
	}
	return s.aead.Seal(out, out[1:], plain, out[:1]), nil
}

// Open decrypts a payload made by Seal. Anything else, including a payload
// sealed under another key or changed by one bit, yields ErrUnsealable.
func (s *Sealer) Open(b []byte) (Email, error) {
	ns := s.aead.NonceSize()
	if len(b) < 1+ns+s.aead.Overhead() || b[0] != sealVersion {
		return Email{}, ErrUnsealable
	}
	plain, err := s.aead.Open(nil, b[1:1+ns], b[1+ns:], b[:1])
	if err != nil {
		return Email{}, ErrUnsealable
	}
	var e Email
	if err := json.Unmarshal(plain, &e); err != nil {
		return Email{}, fmt.Errorf("%w: %v", ErrUnsealable, err)
	}
	return e, nil
}
