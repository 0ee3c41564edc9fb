package passwordless

import "testing"

// The hot path of every start and every check: a code from crypto/rand
// and its HMAC.

func BenchmarkNewCode(b *testing.B) {
	for b.Loop() {
		if _, err := NewCode(6); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCodeHMAC(b *testing.B) {
	s := &Service{HMACKey: make([]byte, 32)}
	for b.Loop() {
		codeHMAC(s.HMACKey, "email", "someone@example.com", "clientID0000000000000000000001", "123456")
	}
}

func BenchmarkCanonicalEmail(b *testing.B) {
	for b.Loop() {
		if _, err := CanonicalEmail("  Some.One+tag@Example.COM "); err != nil {
			b.Fatal(err)
		}
	}
}
