package server

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/passwordless"
)

// FuzzDecodeStart feeds arbitrary bodies to the /passwordless/start decoder:
// it must never panic, and every refusal must be an Auth0-shaped error.
func FuzzDecodeStart(f *testing.F) {
	for _, seed := range []string{
		`{"client_id":"abc","connection":"email","email":"a@example.com","send":"code"}`,
		`{"client_id":"abc","connection":"email","email":"a@example.com","authParams":{"scope":"openid","state":"x"}}`,
		`{"client_id":"abc","connection":"sms","phone_number":"+14155550100"}`,
		`{"client_id":1}`, `{"authParams":"x"}`, `{"type":"code"}`, `[]`, `null`, `{`, `{"a":"b"} {}`,
		`{"client_id":"\u0000","connection":"email","email":"\ud800@x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/passwordless/start", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		raw, err := readJSONObject(r)
		if err == nil {
			_, err = decodeStart(raw)
		}
		var pe *passwordless.Error
		if err != nil && (!errors.As(err, &pe) || pe.Code == "" || pe.Description == "") {
			t.Fatalf("error %v is not in Auth0's shape", err)
		}
	})
}

// FuzzReadParams does the same for the token endpoint's body reader, in
// both encodings.
func FuzzReadParams(f *testing.F) {
	for _, seed := range []struct {
		ct, body string
	}{
		{"application/x-www-form-urlencoded", "grant_type=refresh_token&client_id=a&refresh_token=b"},
		{"application/x-www-form-urlencoded", "a=1&a=2"},
		{"application/x-www-form-urlencoded", "%zz"},
		{"application/json", `{"grant_type":"http://auth0.com/oauth/grant-type/passwordless/otp","otp":"123456"}`},
		{"application/json", `{"otp":123456}`},
		{"application/json; charset=utf-8", `{"a":null}`},
		{"text/plain", "x"},
	} {
		f.Add(seed.ct, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		_, err := readParams(r)
		var oe *oauth.Error
		if err != nil && (!errors.As(err, &oe) || httpStatus(oe.Kind) < 400 || httpStatus(oe.Kind) > 499 || oe.Code == "") {
			t.Fatalf("error %v is not a 4xx OAuth error", err)
		}
	})
}
