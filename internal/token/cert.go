package token

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// KeyInfo describes a published signing key, without its private key: what
// the Management API's /api/v2/keys/signing lists.
type KeyInfo struct {
	KID       string
	Algorithm string
	// Cert is a self-signed X.509 certificate of the key, DER-encoded. An
	// RS256 key's is the same every time and on every replica; an ES256
	// key's is made once per process (ECDSA signatures are randomised).
	Cert      []byte
	CreatedAt time.Time
	// RotatedAt is when a newer key took over; zero for the current key of
	// its algorithm.
	RotatedAt time.Time
	// PublishedUntil is when a rotated key leaves the JWKS; zero for a
	// current key.
	PublishedUntil time.Time
}

// CertValidity is how long the certificate of a signing key is valid from
// the key's creation.
const CertValidity = 10 * 365 * 24 * time.Hour

// Published lists the keys the store publishes now (read afresh, so that a
// rotation made elsewhere shows at once), newest first, each with a
// self-signed certificate whose subject's common name is commonName (the
// issuer's host, as Auth0 names its tenant's certificates).
func (k *Keys) Published(ctx context.Context, commonName string) ([]KeyInfo, error) {
	records, err := k.st.SigningKeys(ctx, k.opts.Now())
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	out := make([]KeyInfo, 0, len(records))
	for _, rec := range records {
		cert, err := k.certificate(rec, commonName)
		if err != nil {
			return nil, err
		}
		out = append(out, KeyInfo{KID: rec.KID, Algorithm: rec.Algorithm, Cert: cert,
			CreatedAt: rec.CreatedAt, RotatedAt: rec.RotatedAt, PublishedUntil: rec.PublishedUntil})
	}
	return out, nil
}

// certificate returns rec's certificate for commonName, made once per
// process.
func (k *Keys) certificate(rec store.SigningKey, commonName string) ([]byte, error) {
	key := rec.KID + "\x00" + commonName
	if c, ok := k.certs.Load(key); ok {
		return c.([]byte), nil
	}
	c, err := SelfSignedCert(rec, commonName)
	if err != nil {
		return nil, err
	}
	actual, _ := k.certs.LoadOrStore(key, c)
	return actual.([]byte), nil
}

// SelfSignedCert makes a self-signed certificate (DER) of a signing key,
// from its creation for CertValidity, with a serial number derived from its
// kid. Nothing in it is random but an ECDSA signature: an RS256 key always
// gives the same certificate.
func SelfSignedCert(rec store.SigningKey, commonName string) ([]byte, error) {
	block, _ := pem.Decode(rec.PrivatePEM)
	if block == nil {
		return nil, fmt.Errorf("signing key %s: not PEM", rec.KID)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", rec.KID, err)
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, errors.New("signing key " + rec.KID + ": not a signing key")
	}
	sum := sha256.Sum256([]byte(rec.KID))
	created := rec.CreatedAt.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(sum[:16]),
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             created,
		NotAfter:              created.Add(CertValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: certificate: %w", rec.KID, err)
	}
	return der, nil
}
