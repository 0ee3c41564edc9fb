package login

import (
	"strings"
	"testing"
)

func TestCSRF(t *testing.T) {
	c := CSRF{Key: []byte("0123456789abcdef0123456789abcdef")}
	tok := c.Token("tx-1")
	if tok == "" || !c.Check("tx-1", tok) {
		t.Fatalf("a token does not check: %q", tok)
	}
	if tok != c.Token("tx-1") {
		t.Error("the token of one transaction changes")
	}
	other := CSRF{Key: []byte("fedcba9876543210fedcba9876543210")}
	flip := []byte(tok)
	flip[3] ^= 1
	tests := []struct {
		name      string
		c         CSRF
		tx, token string
	}{
		{"another transaction", c, "tx-2", tok},
		{"a prefix of the transaction", c, "tx-", tok},
		{"another key", other, "tx-1", tok},
		{"tampered", c, "tx-1", string(flip)},
		{"truncated", c, "tx-1", tok[:len(tok)-1]},
		{"extended", c, "tx-1", tok + "A"},
		{"padded", c, "tx-1", tok + "="},
		{"not base64", c, "tx-1", strings.Repeat("!", len(tok))},
		{"empty token", c, "tx-1", ""},
		{"empty transaction", c, "", c.Token("")},
		{"no key", CSRF{}, "tx-1", CSRF{}.Token("tx-1")},
	}
	for _, tt := range tests {
		if tt.c.Check(tt.tx, tt.token) {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	if c.Token("") != "" || (CSRF{}).Token("tx-1") != "" {
		t.Error("a token without a transaction or a key")
	}
}
