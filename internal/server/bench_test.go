package server

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// Request decoding on the two hot endpoints.

const benchStartBody = `{"client_id":"clientID0000000000000000000001","client_secret":"secret-0123456789-0123456789-0123456789","connection":"email","email":"someone@example.com","send":"code","authParams":{"scope":"openid email","state":"0123456789"}}`

func BenchmarkDecodeStart(b *testing.B) {
	for b.Loop() {
		r := httptest.NewRequest("POST", "/passwordless/start", strings.NewReader(benchStartBody))
		r.Header.Set("Content-Type", "application/json")
		raw, err := readJSONObject(r)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := decodeStart(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadTokenParams(b *testing.B) {
	const body = "grant_type=http%3A%2F%2Fauth0.com%2Foauth%2Fgrant-type%2Fpasswordless%2Fotp&client_id=clientID0000000000000000000001&client_secret=secret-0123456789&username=someone%40example.com&otp=123456&realm=email&scope=openid+email+offline_access&audience=https%3A%2F%2Fapi.example.com%2F"
	for b.Loop() {
		r := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if _, err := readParams(r); err != nil {
			b.Fatal(err)
		}
	}
}
