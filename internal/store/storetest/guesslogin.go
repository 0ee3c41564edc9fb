package storetest

import (
	"errors"
	"testing"

	"github.com/sesame-id/sesame/internal/store"
)

// guessLoginTests: a right, consumed guess with Guard.Login logs its user in
// within the guess's transaction.
var guessLoginTests = []test{
	{"RightCodeLogsTheUserIn", func(t *testing.T, s *suite) {
		st := s.open(t)
		u := loginAs("000000000000000000000001", "email", "a@example.com", t0, "192.0.2.1")
		createCode(t, st, newCode("c1", "email", "a@example.com", "123456", t0), nil)
		res, err := st.GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac("123456")}, t0, true, store.Guard{Login: &u, AllowSignup: true})
		if err != nil || !res.Created || res.User.UserID != u.UserID || res.User.LoginsCount != 1 || res.SignupRefused {
			t.Fatalf("first login: %+v, %v", res, err)
		}
		if got, err := st.UserByIdentifier(ctx(t), "email", "a@example.com"); err != nil || got.UserID != u.UserID {
			t.Fatalf("the user after the guess: %+v, %v", got, err)
		}
		// Again with a new code: the same user, one more login.
		createCode(t, st, newCode("c2", "email", "a@example.com", "654321", t0), nil)
		again := u
		again.UserID = "email|000000000000000000000002"
		res, err = st.GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac("654321")}, t0, true, store.Guard{Login: &again, AllowSignup: true})
		if err != nil || res.Created || res.User.UserID != u.UserID || res.User.LoginsCount != 2 {
			t.Fatalf("second login: %+v, %v", res, err)
		}
	}},
	{"NoLoginWithoutARightConsumedCode", func(t *testing.T, s *suite) {
		st := s.open(t)
		u := loginAs("000000000000000000000001", "email", "a@example.com", t0, "")
		createCode(t, st, newCode("c1", "email", "a@example.com", "123456", t0), nil)
		if res, err := st.GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac("000000")}, t0, true, store.Guard{Login: &u, AllowSignup: true}); !errors.Is(err, store.ErrCodeWrong) || res.User.UserID != "" {
			t.Fatalf("a wrong code: %+v, %v", res, err)
		}
		if res, err := st.GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac("123456")}, t0, false, store.Guard{Login: &u, AllowSignup: true}); err != nil || res.User.UserID != "" {
			t.Fatalf("a check that does not consume: %+v, %v", res, err)
		}
		if _, err := st.UserByIdentifier(ctx(t), "email", "a@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a user exists after guesses that logged no one in: %v", err)
		}
	}},
	{"SignupRefusedConsumesTheCode", func(t *testing.T, s *suite) {
		st := s.open(t)
		u := loginAs("000000000000000000000001", "email", "a@example.com", t0, "")
		createCode(t, st, newCode("c1", "email", "a@example.com", "123456", t0), nil)
		res, err := st.GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac("123456")}, t0, true, store.Guard{Login: &u})
		if err != nil || !res.SignupRefused || res.User.UserID != "" || res.Created {
			t.Fatalf("an unknown user without signup: %+v, %v", res, err)
		}
		if _, err := st.UserByIdentifier(ctx(t), "email", "a@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("signup was refused but the user exists: %v", err)
		}
		verify(t, st, "email", "a@example.com", "123456", t0, store.ErrCodeStale)
	}},
}
