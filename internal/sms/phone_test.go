package sms

import (
	"regexp"
	"testing"
)

const patternDescription = `String does not match pattern: ^\+[0-9]{1,15}$`

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     string // E.164 on success
		wantDesc string // bad.phone_number description on failure
	}{
		{name: "US", in: "+16502530000", want: "+16502530000"},
		{name: "GB", in: "+442071838750", want: "+442071838750"},
		{name: "DE", in: "+4930901820", want: "+4930901820"},
		{name: "IN mobile", in: "+919876543210", want: "+919876543210"},
		{name: "white space at the ends is trimmed", in: "  +16502530000\t\n", want: "+16502530000"},

		{name: "empty", in: "", wantDesc: "Missing required property: phone_number"},
		{name: "only spaces", in: "   ", wantDesc: "Missing required property: phone_number"},
		// Auth0's pattern has no room for separators; trimming is only at the ends.
		{name: "spaces inside", in: "+1 650 253 0000", wantDesc: patternDescription},
		{name: "dashes inside", in: "+1-650-253-0000", wantDesc: patternDescription},
		{name: "missing plus", in: "16502530000", wantDesc: patternDescription},
		{name: "international 00 prefix", in: "0016502530000", wantDesc: patternDescription},
		{name: "letters", in: "+1650CALLNOW", wantDesc: patternDescription},
		{name: "plus alone", in: "+", wantDesc: patternDescription},
		{name: "16 digits", in: "+1234567890123456", wantDesc: patternDescription},
		{name: "full-width digits", in: "+１６５０２５３００００", wantDesc: patternDescription},

		{name: "no such area code", in: "+15550100123", wantDesc: "Invalid phone number: +15550100123 is not a valid number for region US"},
		{name: "too short for US", in: "+1650253", wantDesc: "Invalid phone number: +1650253 is not a valid number for region US"},
		{name: "too long for GB", in: "+4420718387501", wantDesc: "Invalid phone number: +4420718387501 is not a valid number for region GB"},
		{name: "NANP fictional 555-01xx", in: "+16505550123", wantDesc: "Invalid phone number: +16505550123 is in the 555-0100 to 555-0199 range reserved for fictional use"},
		{name: "unassigned country code", in: "+99912345678", wantDesc: "Invalid phone number: +99912345678 has an unknown country code"},
		{name: "country code zero", in: "+0123456789", wantDesc: "Invalid phone number: +0123456789 has an unknown country code"},
		{name: "one digit", in: "+1", wantDesc: "Invalid phone number: +1 is not a valid number"},
		{name: "15 digits that fit no plan", in: "+123456789012345", wantDesc: "Invalid phone number: +123456789012345 is not a valid number for region US"},
		{name: "non-geographic too short", in: "+882123456", wantDesc: "Invalid phone number: +882123456 is not a valid number for country code +882"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhone(tt.in)
			if tt.wantDesc != "" {
				if err == nil {
					t.Fatalf("NormalizePhone(%q) = %q, want error %q", tt.in, got, tt.wantDesc)
				}
				if err.Code != "bad.phone_number" || err.Description != tt.wantDesc {
					t.Fatalf("NormalizePhone(%q) error = {%q, %q}, want {bad.phone_number, %q}", tt.in, err.Code, err.Description, tt.wantDesc)
				}
				if got != "" {
					t.Errorf("NormalizePhone(%q) returned %q with its error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizePhone(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("NormalizePhone(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestError_ImplementsErrorWithCodeAndDescription(t *testing.T) {
	_, perr := NormalizePhone("nope")
	var err error = perr
	if got := err.Error(); got != "bad.phone_number: "+patternDescription {
		t.Fatalf("Error() = %q", got)
	}
}

var auth0Pattern = regexp.MustCompile(`^\+[0-9]{1,15}$`)

// FuzzNormalizePhone checks that no input panics, that every accepted
// number satisfies Auth0's pattern, and that normalising is idempotent
// (what we store normalises to itself).
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{
		"+16502530000", "+442071838750", "+4930901820", "+919876543210", " +16502530000 ",
		"+1 650 253 0000", "16502530000", "+", "", "+0", "+99912345678", "+15550100123",
		"+16505550123", "+4402071838750", "+390612345678", "+80012345678", "+882123456",
		"+123456789012345", "+1234567890123456", "+\u0661\u0662", "+1\x00", "\u00a0+16502530000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := NormalizePhone(raw)
		if err != nil {
			if err.Code != "bad.phone_number" || err.Description == "" {
				t.Fatalf("NormalizePhone(%q) error = %#v", raw, err)
			}
			if out != "" {
				t.Fatalf("NormalizePhone(%q) = %q with an error", raw, out)
			}
			return
		}
		if !auth0Pattern.MatchString(out) {
			t.Fatalf("NormalizePhone(%q) = %q, which does not match Auth0's pattern", raw, out)
		}
		again, err := NormalizePhone(out)
		if err != nil || again != out {
			t.Fatalf("NormalizePhone(%q) = %q, but NormalizePhone(%q) = %q, %v", raw, out, out, again, err)
		}
	})
}
