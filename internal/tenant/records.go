package tenant

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// This file gives writers other than the tenant file (the Management API)
// what Import uses to make stored records: the document encoding and the
// identifiers in Auth0's formats, so that an object stored by either reads
// and compares the same.

// EncodeDocument encodes a checked document (Checked.Doc, with its
// identifiers set) the way the store keeps it: keys sorted, HTML left
// alone, so that the same document always gives the same bytes.
func EncodeDocument(doc map[string]any) []byte { return mustJSON(doc) }

// DecodeDocument decodes a stored document into plain values, numbers as
// json.Number, the form ValidateClient and its siblings read.
func DecodeDocument(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode stored document: %w", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// NewClientID returns a client_id as Auth0 makes them: 32 letters and
// digits.
func NewClientID() (string, error) { return randomAlnum(32) }

// NewClientSecret returns a client secret: 256 random bits, base64url
// without padding. Only its HashSecret is stored.
func NewClientSecret() (string, error) { return randomSecret() }

// NewConnectionID returns a connection id as Auth0 makes them: con_ and 16
// letters and digits.
func NewConnectionID() (string, error) {
	id, err := randomAlnum(16)
	if err != nil {
		return "", err
	}
	return "con_" + id, nil
}

// NewClientGrantID returns a client grant id as Auth0 makes them: cgr_ and
// 16 letters and digits.
func NewClientGrantID() (string, error) {
	id, err := randomAlnum(16)
	if err != nil {
		return "", err
	}
	return "cgr_" + id, nil
}

// NewResourceServerID returns a resource server id as Auth0 makes them: 24
// hexadecimal digits.
func NewResourceServerID() (string, error) {
	b, err := randomBytes(12)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
