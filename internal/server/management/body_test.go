package management

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-id/sesame/internal/tenant"
)

func bodyRequest(data []byte, contentType string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v2/clients", bytes.NewReader(data))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestDecodeBody_AnswersEachBadBodyWithItsStatus(t *testing.T) {
	for _, tc := range []struct {
		name, body, contentType string
		status                  int
		message                 string
	}{
		{"an object", `{"name":"x","n":12}`, "application/json", 0, ""},
		{"with a charset", `{}`, "application/json; charset=utf-8", 0, ""},
		{"no content type", `{}`, "", 0, ""},
		{"malformed", `{"name":`, "application/json", 400, "Invalid request payload JSON format"},
		{"two objects", `{}{}`, "application/json", 400, "Invalid request payload JSON format"},
		{"an array", `[1]`, "application/json", 400, "Payload validation error: Expected type object but found type array"},
		{"null", `null`, "application/json", 400, "Payload validation error: Expected type object but found type null"},
		{"empty", ``, "application/json", 400, "Payload validation error: Expected type object but found type null"},
		{"form encoded", `name=x`, "application/x-www-form-urlencoded", 415, "Unsupported Media Type"},
		{"too large", `{"a":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, "application/json", 413, "Payload content length greater than maximum allowed: 65536"},
		{"nested too deeply", `{"a":` + strings.Repeat(`[`, 11000), "application/json", 400, "Invalid request payload JSON format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeBody(bodyRequest([]byte(tc.body), tc.contentType))
			if tc.status == 0 {
				if err != nil || m == nil {
					t.Fatalf("DecodeBody = %v, %v", m, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tc.status || e.Message != tc.message {
				t.Fatalf("DecodeBody error = %v, want %d %q", err, tc.status, tc.message)
			}
		})
	}
}

func TestDecodeBody_KeepsNumbersAsWritten(t *testing.T) {
	m, err := DecodeBody(bodyRequest([]byte(`{"token_lifetime":86400,"big":123456789012345678901234567890}`), "application/json"))
	if err != nil {
		t.Fatal(err)
	}
	if m["token_lifetime"] != json.Number("86400") || m["big"] != json.Number("123456789012345678901234567890") {
		t.Fatalf("numbers = %#v", m)
	}
}

func TestDecodeBodyInto_RefusesUnknownFieldsAndWrongTypes(t *testing.T) {
	type body struct {
		Email string      `json:"email"`
		Age   json.Number `json:"age"`
	}
	var b body
	if err := DecodeBodyInto(bodyRequest([]byte(`{"email":"a@example.com","age":3}`), "application/json"), &b); err != nil || b.Email != "a@example.com" || b.Age != "3" {
		t.Fatalf("good body: %+v %v", b, err)
	}
	for in, want := range map[string]string{
		`{"email":"a@example.com","nickname":"a"}`: `Payload validation error: unknown field "nickname"`,
		`{"email":42}`: `Payload validation error: field "email": want string, got a JSON number`,
		`[]`:           "Payload validation error: Expected type object but found type array",
	} {
		var e *Error
		if err := DecodeBodyInto(bodyRequest([]byte(in), "application/json"), &body{}); !errors.As(err, &e) || e.Status != 400 || e.Message != want {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}

// FuzzDecodeBody feeds the decoder and the validators behind it any bytes:
// the answer is an object of plain values or a 4xx, never a panic or a 5xx.
func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"name":"Orders Service","app_type":"non_interactive","grant_types":["client_credentials"],"jwt_configuration":{"alg":"RS256"}}`,
		`{"name":"email","strategy":"email","options":{"totp":{"length":6,"time_step":180},"email":{"syntax":"liquid"}},"enabled_clients":[]}`,
		`{"identifier":"https://api.example.com/","scopes":[{"value":"read:x"}],"token_lifetime":1e3}`,
		`{"client_id":"abc","audience":"https://api.example.com/","scope":["read:x",null,1]}`,
		`{"callbacks":"https://x/cb","refresh_token":{"leeway":-1,"token_lifetime":"9"}}`,
		`{"a":"\ud800","b":"\u0000"}`,
		`{"n":-0.0e-999999999}`,
		`[]`, `null`, `"x"`, `{"a":`, "\xff\xfe", `{"a":1}garbage`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeBody(bodyRequest(data, "application/json"))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status < 400 || e.Status >= 500 {
				t.Fatalf("DecodeBody(%q) = %v, want a 4xx *Error", data, err)
			}
			return
		}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case nil, string, bool, json.Number:
			case []any:
				for _, e := range x {
					walk(e)
				}
			case map[string]any:
				for _, e := range x {
					walk(e)
				}
			default:
				t.Fatalf("DecodeBody(%q) holds a %T", data, v)
			}
		}
		walk(m)
		// What the API does with a body next must not panic either.
		_, _, _ = tenant.ValidateClient(m)
		_, _, _ = tenant.ValidateConnection(m)
		_, _, _ = tenant.ValidateResourceServer(m)
		_, _, _ = tenant.ValidateClientGrant(m)
	})
}
