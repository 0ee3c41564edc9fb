package login

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// CSRF makes and checks the token every form of the login pages carries.
// The token is an HMAC of the login transaction's id, so it needs no
// storage: a form is accepted when its token matches its transaction id.
// The HTTP layer must also check that the transaction id is the one the
// browser's transaction cookie names; that binds the form to this browser,
// and the token makes a cross-site form unable to name a transaction
// (login CSRF: an attacker's own login finished in the victim's browser).
//
// Key is a secret of at least 32 random bytes, shared by every replica.
type CSRF struct {
	Key []byte
}

// csrfContext keeps these MACs apart from anything else the key might sign.
const csrfContext = "sesame login csrf v1\x00"

// Token returns the token for the forms of transaction txID, or "" when
// there is no key or no transaction.
func (c CSRF) Token(txID string) string {
	if len(c.Key) == 0 || txID == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(c.mac(txID))
}

// Check reports whether token is the token of txID, in constant time.
func (c CSRF) Check(txID, token string) bool {
	if len(c.Key) == 0 || txID == "" || token == "" {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return false
	}
	return hmac.Equal(got, c.mac(txID))
}

func (c CSRF) mac(txID string) []byte {
	m := hmac.New(sha256.New, c.Key)
	m.Write([]byte(csrfContext))
	m.Write([]byte(txID))
	return m.Sum(nil)
}
