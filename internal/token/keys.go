// Package token signs and verifies the JWTs Sesame issues (ID tokens and
// access tokens) with keys kept in the store, so every replica on one
// database signs with the same key, and publishes them as a JWKS.
package token

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sesame-id/sesame/internal/store"
)

// RSAKeyBits is the size of the RSA keys Sesame generates.
const RSAKeyBits = 2048

// Keys holds the signing keys loaded from the store.
type Keys struct {
	signer jose.Signer
	kid    string
	public map[string]*rsa.PublicKey
	jwks   []byte
}

// LoadKeys loads the signing keys from the store, creating the first RSA key
// when there is none. Replicas starting at once agree on one key because the
// store keeps only the first candidate.
func LoadKeys(ctx context.Context, st store.Store) (*Keys, error) {
	keys, err := st.SigningKeys(ctx, time.Now())
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	if len(keys) == 0 {
		candidate, err := NewRSAKey(time.Now())
		if err != nil {
			return nil, err
		}
		if _, err := st.EnsureSigningKey(ctx, candidate); err != nil {
			return nil, fmt.Errorf("store signing key: %w", err)
		}
		if keys, err = st.SigningKeys(ctx, time.Now()); err != nil {
			return nil, fmt.Errorf("load signing keys: %w", err)
		}
		if len(keys) == 0 {
			return nil, errors.New("load signing keys: store returned none after creating one")
		}
	}
	return newKeys(keys)
}

// NewRSAKey generates a signing key record. Its kid is derived from the
// public key, so it is stable and says nothing secret.
func NewRSAKey(now time.Time) (store.SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, RSAKeyBits)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generate RSA key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encode RSA key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encode RSA public key: %w", err)
	}
	sum := sha256.Sum256(pubDER)
	return store.SigningKey{
		KID:        base64.RawURLEncoding.EncodeToString(sum[:16]),
		Algorithm:  string(jose.RS256),
		PrivatePEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		CreatedAt:  now.UTC(),
	}, nil
}

func newKeys(records []store.SigningKey) (*Keys, error) {
	k := &Keys{public: make(map[string]*rsa.PublicKey)}
	var set jose.JSONWebKeySet
	for i, rec := range records {
		block, _ := pem.Decode(rec.PrivatePEM)
		if block == nil {
			return nil, fmt.Errorf("signing key %s: not PEM", rec.KID)
		}
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", rec.KID, err)
		}
		priv, ok := parsed.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("signing key %s: not an RSA key", rec.KID)
		}
		k.public[rec.KID] = &priv.PublicKey
		jwk := jose.JSONWebKey{Key: &priv.PublicKey, KeyID: rec.KID, Algorithm: string(jose.RS256), Use: "sig"}
		set.Keys = append(set.Keys, jwk)
		if i == 0 { // newest first: the newest key signs
			k.kid = rec.KID
			k.signer, err = jose.NewSigner(
				jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: rec.KID}},
				(&jose.SignerOptions{}).WithType("JWT"),
			)
			if err != nil {
				return nil, fmt.Errorf("signing key %s: %w", rec.KID, err)
			}
		}
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	k.jwks = jwks
	return k, nil
}

// JWKS returns the public keys as a JSON Web Key Set document.
func (k *Keys) JWKS() []byte { return k.jwks }

// KID returns the id of the key that signs.
func (k *Keys) KID() string { return k.kid }

// Sign serialises claims as a compact RS256 JWT.
func (k *Keys) Sign(claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	obj, err := k.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return obj.CompactSerialize()
}

// ErrInvalidToken is returned for any token that fails verification.
var ErrInvalidToken = errors.New("token: invalid")

// Verify checks a compact JWT's signature against our keys and returns its
// payload. It checks nothing of the claims.
func (k *Keys) Verify(raw string) ([]byte, error) {
	obj, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(obj.Signatures) != 1 {
		return nil, ErrInvalidToken
	}
	pub, ok := k.public[obj.Signatures[0].Header.KeyID]
	if !ok {
		return nil, ErrInvalidToken
	}
	payload, err := obj.Verify(pub)
	if err != nil {
		return nil, ErrInvalidToken
	}
	return payload, nil
}
