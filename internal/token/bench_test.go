package token_test

import (
	"path/filepath"
	"testing"

	"github.com/sesame-id/sesame/internal/store/sqlite"
	"github.com/sesame-id/sesame/internal/token"
)

// Token minting: one signature of claims shaped like an ID token's.
func BenchmarkSign(b *testing.B) {
	st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	k, err := token.LoadKeys(b.Context(), st, token.Options{})
	if err != nil {
		b.Fatal(err)
	}
	claims := map[string]any{
		"iss": "https://login.example.com/", "sub": "email|0123456789abcdef01234567", "aud": "clientID0000000000000000000001",
		"iat": 1700000000, "exp": 1700036000, "auth_time": 1700000000, "nonce": "n-0123456789",
		"email": "someone@example.com", "email_verified": true, "name": "someone@example.com",
	}
	for _, alg := range token.Algorithms {
		b.Run(alg, func(b *testing.B) {
			for b.Loop() {
				if _, err := k.Sign(b.Context(), alg, claims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
