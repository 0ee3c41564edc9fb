package login

import "time"

// Problem is what went wrong, said to the person signing in. The HTTP
// layer maps domain errors to one; the page says it in the page's
// language. The zero Problem is none.
type Problem int

// The problems a login page can show.
const (
	NoProblem        Problem = iota
	WrongCode                // the code is not the one sent
	Expired                  // the code is past its lifetime
	TooManyTries             // the code was used up by wrong tries
	Blocked                  // brute-force protection blocked the identifier or address
	RateLimited              // too many requests; with a RetryAfter when known
	InvalidEmail             // not an email address
	InvalidPhone             // not a phone number
	SignupDisabled           // unknown user and the connection does not sign up
	DeliveryFailed           // the email or SMS could not be sent
	InvalidRequest           // the authorization request or link is not valid (Error page)
	LoginExpired             // the login transaction is gone (Error page)
	Generic                  // anything else
	ReturnNotAllowed         // a logout's return address is not registered (SignedOut page)
)

var problemKeys = map[Problem]string{
	WrongCode:        "problem.wrong_code",
	Expired:          "problem.expired",
	TooManyTries:     "problem.too_many_tries",
	Blocked:          "problem.blocked",
	RateLimited:      "problem.rate_limited",
	InvalidEmail:     "problem.invalid_email",
	InvalidPhone:     "problem.invalid_phone",
	SignupDisabled:   "problem.signup_disabled",
	DeliveryFailed:   "problem.delivery_failed",
	InvalidRequest:   "problem.invalid_request",
	LoginExpired:     "problem.login_expired",
	Generic:          "problem.generic",
	ReturnNotAllowed: "problem.return_not_allowed",
}

// Text says p in lang. retryAfter is used by RateLimited ("wait 30
// seconds"); zero means unknown.
func (p Problem) Text(lang Lang, retryAfter time.Duration) string {
	if p == NoProblem {
		return ""
	}
	if p == RateLimited && retryAfter > 0 {
		return lang.text("problem.rate_limited.wait", lang.duration(retryAfter))
	}
	key, ok := problemKeys[p]
	if !ok {
		key = problemKeys[Generic]
	}
	return lang.text(key)
}

// inputProblem reports whether p is about what the person typed, so the
// input is marked invalid.
func (p Problem) inputProblem() bool {
	switch p {
	case WrongCode, InvalidEmail, InvalidPhone, SignupDisabled:
		return true
	}
	return false
}
