package passwordless

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/store"
)

func TestCheckOutcome_NamesEveryOutcomeOfTheStore(t *testing.T) {
	for _, c := range []struct {
		res  store.Guessed
		err  error
		want string
	}{
		{store.Guessed{}, nil, "ok"},
		{store.Guessed{SignupRefused: true}, nil, "signup_refused"},
		{store.Guessed{UserBlocked: true}, nil, "user_blocked"},
		{store.Guessed{}, store.ErrCodeWrong, "wrong"},
		{store.Guessed{}, fmt.Errorf("guess: %w", store.ErrCodeExpired), "expired"},
		{store.Guessed{}, store.ErrAttemptsExceeded, "exhausted"},
		{store.Guessed{}, store.ErrBlocked, "blocked"},
		{store.Guessed{}, store.ErrRateLimited, "rate_limited"},
		{store.Guessed{}, store.ErrCodeStale, "not_found"},
		{store.Guessed{}, store.ErrCodeNotFound, "not_found"},
		{store.Guessed{}, errorf(fault.Denied, CodeInvalidGrant, "bound elsewhere"), "refused"},
		{store.Guessed{}, errors.New("database is down"), "error"},
	} {
		if got := checkOutcome(c.res, c.err); got != c.want {
			t.Errorf("checkOutcome(%+v, %v) = %q, want %q", c.res, c.err, got, c.want)
		}
	}
}

func TestBlockRule_NamesTheProtectionThatBlocked(t *testing.T) {
	for _, c := range []struct {
		b    store.Block
		want string
	}{
		{store.Block{Identifier: "a@example.com", IP: "192.0.2.0/24"}, "pair"},
		{store.Block{Identifier: "a@example.com"}, "account"},
		{store.Block{IP: "192.0.2.0/24"}, "ip"},
	} {
		if got := blockRule(c.b); got != c.want {
			t.Errorf("blockRule(%+v) = %q, want %q", c.b, got, c.want)
		}
	}
}
