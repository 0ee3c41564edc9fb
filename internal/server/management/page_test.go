package management

import (
	"encoding/asn1"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/token"
)

func TestParsePage_DefaultsAndBounds(t *testing.T) {
	for query, want := range map[string]Page{
		"":                                 {Number: 0, PerPage: 50},
		"page=2&per_page=10":               {Number: 2, PerPage: 10},
		"per_page=100&include_totals=true": {PerPage: 100, IncludeTotals: true},
	} {
		got, err := ParsePage(httptest.NewRequest(http.MethodGet, "/api/v2/clients?"+query, nil))
		if err != nil || got != want {
			t.Errorf("%q: %+v %v, want %+v", query, got, err, want)
		}
	}
	for _, query := range []string{"per_page=101", "per_page=0", "page=-1", "page=x", "include_totals=yes"} {
		_, err := ParsePage(httptest.NewRequest(http.MethodGet, "/api/v2/clients?"+query, nil))
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || e.Code != "invalid_query_string" {
			t.Errorf("%q: %v, want 400 invalid_query_string", query, err)
		}
	}
}

func TestWritePage_WrapsWithTotalsOrAnswersTheBareArray(t *testing.T) {
	all := []int{1, 2, 3, 4, 5}
	rec := httptest.NewRecorder()
	WritePage(rec, Page{Number: 1, PerPage: 2, IncludeTotals: true}, "things", all)
	var wrapped struct {
		Start, Limit, Length, Total int
		Things                      []int
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &wrapped); err != nil || wrapped.Start != 2 || wrapped.Limit != 2 ||
		wrapped.Length != 2 || wrapped.Total != 5 || len(wrapped.Things) != 2 || wrapped.Things[0] != 3 {
		t.Fatalf("wrapped page: %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	WritePage(rec, Page{Number: 9, PerPage: 2}, "things", all)
	if rec.Body.String() != "[]" {
		t.Fatalf("a page past the end: %s", rec.Body)
	}
}

func TestFields_IncludeAndExclude(t *testing.T) {
	f, err := ParseFields(httptest.NewRequest(http.MethodGet, "/?fields=a,b", nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Apply(map[string]any{"a": 1, "b": 2, "c": 3}); len(got) != 2 || got["c"] != nil {
		t.Errorf("include: %v", got)
	}
	f, _ = ParseFields(httptest.NewRequest(http.MethodGet, "/?fields=a&include_fields=false", nil))
	if got := f.Apply(map[string]any{"a": 1, "b": 2}); len(got) != 1 || got["b"] != 2 {
		t.Errorf("exclude: %v", got)
	}
}

func TestSigningKeyBody_CertificateAndPKCS7(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	key, err := token.NewKey(token.RS256, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := token.SelfSignedCert(key, "tenant.example.com")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := token.SelfSignedCert(key, "tenant.example.com")
	if string(again) != string(cert) {
		t.Errorf("an RS256 key's certificate differs from one call to the next")
	}
	body, err := signingKeyBody(token.KeyInfo{KID: key.KID, Algorithm: key.Algorithm, Cert: cert, CreatedAt: now, RotatedAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if body["current"] != false || body["previous"] != true || body["current_until"] != "2026-12-02T13:00:00.000Z" || body["current_since"] != "2026-12-02T12:00:00.000Z" {
		t.Errorf("rotation fields: %v", body)
	}
	p7, err := certsOnlyPKCS7(cert)
	if err != nil {
		t.Fatal(err)
	}
	var ci pkcs7ContentInfo
	if rest, err := asn1.Unmarshal(p7, &ci); err != nil || len(rest) != 0 || !ci.ContentType.Equal(oidSignedData) {
		t.Fatalf("PKCS#7 content info: %v", err)
	}
	var sd pkcs7SignedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || sd.Version != 1 || string(sd.Certificates.Bytes) != string(cert) {
		t.Fatalf("PKCS#7 signed data: %v", err)
	}
}
