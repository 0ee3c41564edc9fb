// Package sms holds the rules of an sms connection's phone numbers: Auth0's
// pattern, libphonenumber validity and the E.164 form Sesame stores and sends
// to (NormalizePhone, ParsePhone), and where a number leads, for the checks
// against SMS pumping (Destination, CallingCodeAllowed). Sending an SMS is
// delivery's job.
package sms

import "fmt"

// CodeBadPhoneNumber is Auth0's error code for a phone number it refuses.
const CodeBadPhoneNumber = "bad.phone_number"

// Error is a phone number the caller reports to the client as Auth0 does:
// HTTP 400 with {"error": Code, "error_description": Description}.
type Error struct {
	Code        string
	Description string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Description)
}
