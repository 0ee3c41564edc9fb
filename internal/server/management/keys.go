package management

import (
	"crypto/sha1"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"

	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/token"
)

// Signing keys: /api/v2/keys/signing. Every key the JWKS publishes is
// listed: the current key of each algorithm ("current") and the keys it
// replaced, still published until every token they signed has expired
// ("previous"). Sesame makes no key ahead of a rotation, so none is "next",
// and it revokes none.

var errKeyNotFound = NewError(http.StatusNotFound, "inexistent_signing_key", "The signing key does not exist")

func (a *API) keyRoutes(rt *Router) {
	rt.Handle("GET /api/v2/keys/signing", []string{"read:signing_keys"}, a.listSigningKeys)
	rt.Handle("GET /api/v2/keys/signing/{kid}", []string{"read:signing_keys"}, a.getSigningKey)
	rt.Handle("POST /api/v2/keys/signing/rotate", []string{"create:signing_keys", "update:signing_keys"}, a.rotateSigningKey)
}

// certName is the common name of the keys' certificates: the issuer's host,
// as Auth0 names its tenant's.
func (a *API) certName() string {
	if u, err := url.Parse(a.Issuer); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return a.Issuer
}

// signingKeyBody is a key as Auth0 answers it: kid, its certificate (PEM
// and PKCS#7), the SHA-1 fingerprint and thumbprint of the certificate,
// and its place in the rotation.
func signingKeyBody(k token.KeyInfo) (map[string]any, error) {
	p7, err := certsOnlyPKCS7(k.Cert)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(k.Cert) // what Auth0 calls the fingerprint: not a security check
	thumb := strings.ToUpper(hex.EncodeToString(sum[:]))
	pairs := make([]string, len(sum))
	for i := range sum {
		pairs[i] = thumb[2*i : 2*i+2]
	}
	current := k.RotatedAt.IsZero()
	body := map[string]any{
		"kid":           k.KID,
		"cert":          pemCRLF("CERTIFICATE", k.Cert),
		"pkcs7":         pemCRLF("PKCS7", p7),
		"current":       current,
		"next":          false,
		"previous":      !current,
		"current_since": k.CreatedAt.UTC().Format(timeFormat),
		"fingerprint":   strings.Join(pairs, ":"),
		"thumbprint":    thumb,
		"revoked":       false,
	}
	if !current {
		body["current_until"] = k.RotatedAt.UTC().Format(timeFormat)
	}
	return body, nil
}

// pemCRLF writes a PEM block with CRLF line ends and no final line end, as
// Auth0 writes its certificates.
func pemCRLF(typ string, der []byte) string {
	s := strings.TrimSuffix(string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})), "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// PKCS#7 (RFC 2315) object identifiers.
var (
	oidData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
)

type pkcs7ContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue
}

type pkcs7SignedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	ContentInfo      struct{ ContentType asn1.ObjectIdentifier }
	Certificates     asn1.RawValue
	SignerInfos      asn1.RawValue
}

// certsOnlyPKCS7 wraps a certificate in a degenerate PKCS#7 SignedData
// (certificates only, no signers), the pkcs7 form Auth0 gives beside the
// PEM certificate.
func certsOnlyPKCS7(certDER []byte) ([]byte, error) {
	emptySet := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: []byte{}}
	sd := pkcs7SignedData{
		Version:          1,
		DigestAlgorithms: emptySet,
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certDER},
		SignerInfos:      emptySet,
	}
	sd.ContentInfo.ContentType = oidData
	inner, err := asn1.Marshal(sd)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(pkcs7ContentInfo{
		ContentType: oidSignedData,
		Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner},
	})
}

func (a *API) listSigningKeys(w http.ResponseWriter, r *http.Request, _ *Call) error {
	keys, err := a.Keys.Published(r.Context(), a.certName())
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		body, err := signingKeyBody(k)
		if err != nil {
			return err
		}
		out = append(out, body)
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getSigningKey(w http.ResponseWriter, r *http.Request, _ *Call) error {
	keys, err := a.Keys.Published(r.Context(), a.certName())
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.KID == r.PathValue("kid") {
			body, err := signingKeyBody(k)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, body)
			return nil
		}
	}
	return errKeyNotFound
}

// rotateSigningKey rotates the RS256 key (Auth0's one signing key) the way
// `sesame keys rotate` does: the new key is published at once (this
// replica's JWKS has it when the answer comes; the others' within their key
// reload interval) and signs once every replica publishes it; the key it
// replaces stays published until every token it may have signed has
// expired. The answer is the new key, with its kid and cert.
func (a *API) rotateSigningKey(w http.ResponseWriter, r *http.Request, c *Call) error {
	publishFor := token.PublishFor(oauth.LongestTokenLifetime(c.Tenant), a.Keys.ReloadInterval())
	next, _, err := a.Keys.Rotate(r.Context(), token.RS256, "", publishFor)
	if err != nil {
		return err
	}
	keys, err := a.Keys.Published(r.Context(), a.certName())
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.KID == next.KID {
			body, err := signingKeyBody(k)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusCreated, body)
			return nil
		}
	}
	// Another rotation replaced it already; it is no longer listed as
	// current, but it was made.
	WriteJSON(w, http.StatusCreated, map[string]any{"kid": next.KID})
	return nil
}
