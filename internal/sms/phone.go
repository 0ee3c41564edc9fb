package sms

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// PhonePattern is the pattern Auth0 checks phone_number against; its
// error description quotes it.
const PhonePattern = `^\+[0-9]{1,15}$`

// NormalizePhone checks a phone_number from /passwordless/start and returns
// it in E.164 form, the form Sesame stores and sends.
//
// Two checks, in order:
//  1. Auth0's own: after trimming white space at both ends, the number must
//     match ^\+[0-9]{1,15}$, else bad.phone_number "String does not match
//     pattern: ...". Spaces, dashes or brackets inside the number are
//     refused as Auth0 refuses them, not cleaned up: a client written for
//     Auth0 already sends the bare form.
//  2. Sesame's: the number must be one that can exist (libphonenumber's
//     IsValidNumber: a known country code, a length and prefix its plan
//     allows). NANP's 555-0100…555-0199 lines, reserved for fiction, are
//     refused too. Auth0 would accept such a number and fail at the
//     provider; we fail early with a description that says why.
//
// The error is always a bad.phone_number *Error; it is nil on success.
func NormalizePhone(raw string) (string, *Error) {
	e164, _, err := ParsePhone(raw)
	return e164, err
}

// ParsePhone is NormalizePhone that also tells where the number leads, for
// the checks against SMS pumping, from the one parse.
func ParsePhone(raw string) (string, Destination, *Error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", Destination{}, &Error{Code: CodeBadPhoneNumber, Description: "Missing required property: phone_number"}
	}
	if !matchesAuth0Pattern(s) {
		return "", Destination{}, &Error{Code: CodeBadPhoneNumber, Description: "String does not match pattern: " + PhonePattern}
	}
	invalid := func(why string) (string, Destination, *Error) {
		return "", Destination{}, &Error{Code: CodeBadPhoneNumber, Description: "Invalid phone number: " + s + " " + why}
	}

	n, err := phonenumbers.Parse(s, "")
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return invalid("has an unknown country code")
	case err != nil:
		return invalid("is not a valid number")
	}
	cc := int(n.GetCountryCode())
	if !phonenumbers.IsValidNumber(n) {
		region := phonenumbers.GetRegionCodeForCountryCode(cc)
		if region == "" || region == phonenumbers.UNKNOWN_REGION || region == "001" {
			// Non-geographic codes (+800, +882, ...) have no region.
			return invalid(fmt.Sprintf("is not a valid number for country code +%d", cc))
		}
		return invalid("is not a valid number for region " + region)
	}
	if cc == 1 && isFictionalNANP(n.GetNationalNumber()) {
		return invalid("is in the 555-0100 to 555-0199 range reserved for fictional use")
	}
	return phonenumbers.Format(n, phonenumbers.E164), destination(n), nil
}

// matchesAuth0Pattern reports whether s matches ^\+[0-9]{1,15}$.
func matchesAuth0Pattern(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isFictionalNANP reports whether a North American national number is
// NPA-555-01XX, the lines set aside for films and examples in every area.
func isFictionalNANP(national uint64) bool {
	d := strconv.FormatUint(national, 10)
	return len(d) == 10 && d[3:8] == "55501"
}
