package users

import (
	"errors"
	"strings"
	"testing"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/store"
)

func TestParseQuery_ReadsTheSimpleForms(t *testing.T) {
	for _, tc := range []struct{ q, field, value string }{
		{``, "", ""},
		{`   `, "", ""},
		{`email:"alice@example.com"`, FieldEmail, "alice@example.com"},
		{`email:alice@example.com`, FieldEmail, "alice@example.com"},
		{`email:a+tag@example.com`, FieldEmail, "a+tag@example.com"},
		{`  email :  "Alice@Example.com"  `, FieldEmail, "Alice@Example.com"},
		{`email:"a\"b\\c@example.com"`, FieldEmail, `a"b\c@example.com`},
		{`email:"has space@example.com"`, FieldEmail, "has space@example.com"},
		{`email:"*@example.com"`, FieldEmail, "*@example.com"}, // quoted: no wildcard
		{`email:a\*b@example.com`, FieldEmail, "a*b@example.com"},
		{`phone_number:"+14155552671"`, FieldPhoneNumber, "+14155552671"},
		{`phone_number:\+14155552671`, FieldPhoneNumber, "+14155552671"},
		{`user_id:"email|5ed9465f580a1d9af47e7ffa"`, FieldUserID, "email|5ed9465f580a1d9af47e7ffa"},
		{`user_id:email|5ed9465f580a1d9af47e7ffa`, FieldUserID, "email|5ed9465f580a1d9af47e7ffa"},
		{`identities.connection:"email"`, FieldConnection, "email"},
		{`identities.connection:sms-2`, FieldConnection, "sms-2"},
	} {
		field, value, err := ParseQuery(tc.q)
		if err != nil || field != tc.field || value != tc.value {
			t.Errorf("ParseQuery(%q) = %q, %q, %v; want %q, %q", tc.q, field, value, err, tc.field, tc.value)
		}
	}
}

func TestParseQuery_RefusesEverythingElseClearly(t *testing.T) {
	for _, q := range []string{
		`"alice@example.com"`,
		`alice@example.com`,
		`name:"Ada"`,
		`Email:"a@example.com"`,
		`email.domain:"example.com"`,
		`email:""`,
		`email:`,
		`email:"unclosed`,
		`email:"a@example.com" AND user_id:"x"`,
		`email:a@example.com OR email:b@example.com`,
		`email:a@example.com email:b@example.com`,
		`NOT email:a@example.com`,
		`-email:a@example.com`,
		`email:*@example.com`,
		`email:a?c@example.com`,
		`email:(a@example.com)`,
		`phone_number:+14155552671`,
		`phone_number:-1`,
		`created_at:[2020-01-01 TO *]`,
		`email:a@example.com~`,
		`email:a@example.com^2`,
		`email:trailing\`,
		`email:"x"y`,
		`user_id:a:b`,
		`email:"` + strings.Repeat("a", maxQuery) + `"`,
	} {
		field, value, err := ParseQuery(q)
		var e *Error
		if !errors.As(err, &e) || e.Kind != fault.Invalid || e.Code != CodeInvalidQuery || !strings.Contains(e.Message, "Sesame supports") {
			t.Errorf("ParseQuery(%q) = %q, %q, %v; want an invalid_query_string error that says what is supported", q, field, value, err)
		}
	}
}

// FuzzParseQuery: ParseQuery never panics; what it accepts is one of the
// three fields with a value, and FormatQuery writes it back as a query that
// parses to the same.
func FuzzParseQuery(f *testing.F) {
	f.Add(`email:"alice@example.com"`)
	f.Fuzz(func(t *testing.T, q string) {
		field, value, err := ParseQuery(q)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidQuery {
				t.Fatalf("ParseQuery(%q) failed with %v, not an invalid_query_string error", q, err)
			}
			return
		}
		if field == "" {
			if value != "" || strings.TrimSpace(q) != "" {
				t.Fatalf("ParseQuery(%q) = no field, value %q", q, value)
			}
			return
		}
		if field != FieldEmail && field != FieldPhoneNumber && field != FieldUserID && field != FieldConnection || value == "" {
			t.Fatalf("ParseQuery(%q) = %q, %q", q, field, value)
		}
		again := FormatQuery(field, value)
		f2, v2, err := ParseQuery(again)
		if len(again) <= maxQuery && (err != nil || f2 != field || v2 != value) {
			t.Fatalf("ParseQuery(%q) = %q, %q; its FormatQuery %q parses to %q, %q, %v", q, field, value, again, f2, v2, err)
		}
	})
}

func TestParseSort(t *testing.T) {
	for _, tc := range []struct {
		sort string
		by   store.UserSort
		desc bool
	}{
		{"", store.SortCreatedAt, false},
		{"created_at:1", store.SortCreatedAt, false},
		{"created_at:-1", store.SortCreatedAt, true},
		{"last_login:1", store.SortLastLogin, false},
		{"last_login:-1", store.SortLastLogin, true},
	} {
		by, desc, err := ParseSort(tc.sort)
		if err != nil || by != tc.by || desc != tc.desc {
			t.Errorf("ParseSort(%q) = %v, %v, %v; want %v, %v", tc.sort, by, desc, err, tc.by, tc.desc)
		}
	}
	for _, sort := range []string{"created_at", "created_at:0", "created_at:2", "name:1", "email:-1", ":1", "last_login:-1:1"} {
		if _, _, err := ParseSort(sort); err == nil {
			t.Errorf("ParseSort(%q) was accepted", sort)
		}
	}
}

func TestListRequest_QueryCanonicalisesAndPages(t *testing.T) {
	for _, tc := range []struct {
		r    ListRequest
		want store.UserQuery
	}{
		{ListRequest{}, store.UserQuery{Limit: DefaultPerPage}},
		{ListRequest{Q: `email:"Alice@Example.COM"`, Page: 2, PerPage: 10},
			store.UserQuery{Email: "alice@example.com", Offset: 20, Limit: 10}},
		// An address that has no canonical form matches nobody: kept as given.
		{ListRequest{Q: `email:"not an address"`}, store.UserQuery{Email: "not an address", Limit: DefaultPerPage}},
		{ListRequest{Q: `phone_number:"+14155552671"`, Sort: "last_login:-1", PerPage: 100},
			store.UserQuery{PhoneNumber: "+14155552671", Sort: store.SortLastLogin, Descending: true, Limit: 100}},
		{ListRequest{Q: `user_id:"email|Abc"`}, store.UserQuery{UserID: "email|Abc", Limit: DefaultPerPage}},
		{ListRequest{Connection: "sms", PerPage: 5, Page: 1}, store.UserQuery{Connection: "sms", Offset: 5, Limit: 5}},
		{ListRequest{Q: `identities.connection:"sms"`}, store.UserQuery{Connection: "sms", Limit: DefaultPerPage}},
		{ListRequest{Q: `identities.connection:"sms"`, Connection: "sms"}, store.UserQuery{Connection: "sms", Limit: DefaultPerPage}},
	} {
		got, err := tc.r.Query()
		if err != nil || got != tc.want {
			t.Errorf("%+v.Query() = %+v, %v; want %+v", tc.r, got, err, tc.want)
		}
	}
	for _, r := range []ListRequest{
		{PerPage: 101}, {PerPage: -1}, {Page: -1}, {Page: 1 << 30, PerPage: 100}, {Sort: "name:1"}, {Q: "name:x"},
		{Q: `identities.connection:"sms"`, Connection: "email"},
	} {
		var e *Error
		if _, err := r.Query(); !errors.As(err, &e) || e.Kind != fault.Invalid {
			t.Errorf("%+v.Query() = %v, want an invalid request", r, err)
		}
	}
}
