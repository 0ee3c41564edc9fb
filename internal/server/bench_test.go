package server

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
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

func TestRetryAfterOf_OneTokensShare(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	takes := []store.Take{{Limit: store.Limit{Burst: 50, Per: time.Hour}}, {Limit: store.Limit{Burst: 5, Per: 15 * time.Minute}}}
	bs := []store.Bucket{{Allowed: true, Reset: now.Add(time.Hour)}, {Allowed: false, Reset: now.Add(15 * time.Minute)}}
	if got := retryAfterOf(takes, bs, now); got != 3*time.Minute {
		t.Errorf("retryAfterOf = %v, want one token's share of 15 minutes for 5: 3m", got)
	}
	bs[1].Reset = now.Add(time.Minute)
	if got := retryAfterOf(takes, bs, now); got != time.Minute {
		t.Errorf("retryAfterOf = %v, want the reset when it comes first", got)
	}
	if got := retryAfterOf(takes, []store.Bucket{{Allowed: true}}, now); got != 0 {
		t.Errorf("nothing refused: %v", got)
	}
}
