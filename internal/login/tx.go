package login

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// A Transaction is one login on the hosted page, from /authorize to the
// redirect back to the application: the authorization request and how far
// the user got. It travels in a cookie, sealed (AES-256-GCM) with a key
// every replica reads from the database, so any replica can carry on a
// login another one started, and nothing in it can be read or changed by
// the browser.
type Transaction struct {
	ID string `json:"id"`
	// Params is the authorization request, as /authorize validated it.
	Params url.Values `json:"p"`
	// Connection, Identifier and Send are set once a message was sent:
	// the connection's name, the canonical address or number, and code or
	// link.
	Connection string `json:"c,omitempty"`
	Identifier string `json:"i,omitempty"`
	Send       string `json:"s,omitempty"`
	// SentAt is when the last message was sent (Unix seconds), for the
	// resend cooldown.
	SentAt int64 `json:"t,omitempty"`
	// ExpiresAt ends the transaction (Unix seconds).
	ExpiresAt int64 `json:"e"`
}

// TxLifetime is how long a login on the hosted page may take.
const TxLifetime = 30 * time.Minute

// MaxTxCookie is the longest sealed transaction accepted: browsers keep
// cookies of up to about 4096 bytes.
const MaxTxCookie = 3800

// ErrTx is any transaction that cannot be used: expired, tampered with,
// sealed with another key, or not one at all.
var ErrTx = errors.New("login: no valid login transaction")

// NewTxID returns a random transaction id.
func NewTxID() (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("login: transaction id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// TxSealer seals and opens transactions.
type TxSealer struct{ aead cipher.AEAD }

// txAAD binds a sealed value to its purpose: a value sealed by the same key
// for something else never opens as a transaction.
var txAAD = []byte("sesame login transaction v1")

// NewTxSealer makes a sealer from a 32-byte key.
func NewTxSealer(key []byte) (*TxSealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("login: transaction key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &TxSealer{aead: aead}, nil
}

// Seal encodes tx for a cookie. A transaction too large for one (an
// authorization request with very long parameters) is an error.
func (s *TxSealer) Seal(tx Transaction) (string, error) {
	plain, err := json.Marshal(tx)
	if err != nil {
		return "", fmt.Errorf("login: encode transaction: %w", err)
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("login: transaction nonce: %w", err)
	}
	out := base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, txAAD))
	if len(out) > MaxTxCookie {
		return "", fmt.Errorf("login: the transaction is %d bytes sealed, more than a cookie holds", len(out))
	}
	return out, nil
}

// Open reads a sealed transaction; one that does not open or has expired
// at now is ErrTx.
func (s *TxSealer) Open(sealed string, now time.Time) (Transaction, error) {
	if sealed == "" || len(sealed) > MaxTxCookie {
		return Transaction{}, ErrTx
	}
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	n := s.aead.NonceSize()
	if err != nil || len(raw) < n+s.aead.Overhead() {
		return Transaction{}, ErrTx
	}
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], txAAD)
	if err != nil {
		return Transaction{}, ErrTx
	}
	var tx Transaction
	if err := json.Unmarshal(plain, &tx); err != nil || tx.ID == "" || now.Unix() >= tx.ExpiresAt {
		return Transaction{}, ErrTx
	}
	return tx, nil
}
