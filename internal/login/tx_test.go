package login

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTxSealer_RoundTripAndRefusals(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s, err := NewTxSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	tx := Transaction{ID: "tx1", Params: url.Values{"client_id": {"c"}, "state": {"s<>"}},
		Connection: "email", Identifier: "a@example.com", Send: "code", SentAt: now.Unix(), ExpiresAt: now.Add(TxLifetime).Unix()}
	sealed, err := s.Seal(tx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "a@example.com") || strings.Contains(sealed, "email") {
		t.Errorf("the sealed transaction shows its contents: %s", sealed)
	}
	got, err := s.Open(sealed, now)
	if err != nil || got.ID != "tx1" || got.Identifier != "a@example.com" || got.Params.Get("state") != "s<>" {
		t.Fatalf("Open = %+v, %v", got, err)
	}

	raw, _ := base64.RawURLEncoding.DecodeString(sealed)
	raw[len(raw)-1] ^= 1
	other, _ := NewTxSealer(bytes.Repeat([]byte{8}, 32))
	for name, c := range map[string]struct {
		sealer *TxSealer
		value  string
		at     time.Time
	}{
		"tampered":    {s, base64.RawURLEncoding.EncodeToString(raw), now},
		"another key": {other, sealed, now},
		"expired":     {s, sealed, now.Add(TxLifetime)},
		"empty":       {s, "", now},
		"not base64":  {s, "%%%", now},
		"too short":   {s, "AAAA", now},
		"oversized":   {s, strings.Repeat("A", MaxTxCookie+1), now},
	} {
		if _, err := c.sealer.Open(c.value, c.at); !errors.Is(err, ErrTx) {
			t.Errorf("%s: Open = %v, want ErrTx", name, err)
		}
	}

	big := tx
	big.Params = url.Values{"state": {strings.Repeat("x", 4000)}}
	if _, err := s.Seal(big); err == nil {
		t.Error("a transaction larger than a cookie was sealed")
	}
	if _, err := NewTxSealer(key[:16]); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}
