package passwordless

import (
	"errors"

	"github.com/sesame-id/sesame/internal/fault"
)

// Error is a domain error that carries its kind and Auth0's error code and
// description, so the HTTP layer can render it without matching strings.
type Error struct {
	Kind        fault.Kind
	Code        string
	Description string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func errorf(kind fault.Kind, code, description string) *Error {
	return &Error{Kind: kind, Code: code, Description: description}
}

// The descriptions Auth0 uses on the passwordless OTP grant (spec §4.3).
const (
	DescWrongEmailCode = "Wrong email or verification code."
	DescWrongPhoneCode = "Wrong phone number or verification code."
	DescCodeExpired    = "The verification code has expired. Please try to login again."
	DescMaxAttempts    = "You've reached the maximum number of attempts. Please try to login again."
	DescSignupDisabled = "Public signup is disabled"
	DescUserBlocked    = "user is blocked"
)

// ErrUserBlocked is the answer to a right code of a user an operator
// blocked (`blocked: true`): Auth0's 401 unauthorized, "user is blocked".
var ErrUserBlocked = errorf(fault.Unauthenticated, CodeUnauthorized, DescUserBlocked)

// BadEmail is the answer of /passwordless/start to an address that
// CanonicalEmail refuses: Auth0's code and message, with the reason in
// words (never the offending characters raw).
func BadEmail(err error) *Error {
	if errors.Is(err, ErrEmailMissing) {
		return errorf(fault.Invalid, CodeBadEmail, "Missing required property: email")
	}
	return errorf(fault.Invalid, CodeBadEmail, "Object didn't pass validation for format email: "+err.Error())
}

// Error codes.
const (
	// CodeBadEmail is an address /passwordless/start refuses.
	CodeBadEmail     = "bad.email"
	CodeInvalidGrant = "invalid_grant"
	CodeAccessDenied = "access_denied"
	// CodeUnauthorized is the answer for a blocked user.
	CodeUnauthorized = "unauthorized"
	// CodeTooManyAttempts is the brute-force block (fault.Blocked).
	CodeTooManyAttempts = "too_many_attempts"
)
