package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// loginAs returns the User the passwordless package hands to LoginUser: a
// fresh candidate UserID every time, and the login fields for now.
func loginAs(id, connection, identifier string, now time.Time, ip string) store.User {
	return store.User{
		UserID:        connection + "|" + id,
		Connection:    connection,
		Strategy:      connection,
		Identifier:    identifier,
		Email:         identifier,
		EmailVerified: true,
		Name:          identifier,
		Nickname:      "nick",
		Picture:       "https://s.gravatar.com/avatar/x.png",
		CreatedAt:     now,
		UpdatedAt:     now,
		LastLogin:     now,
		LastIP:        ip,
		LoginsCount:   1,
	}
}

func login(t *testing.T, st store.Store, u store.User, allowSignup bool, wantCreated bool) store.User {
	t.Helper()
	got, created, err := st.LoginUser(ctx(t), u, allowSignup)
	if err != nil {
		t.Fatalf("LoginUser(%s): %v", u.Identifier, err)
	}
	if created != wantCreated {
		t.Errorf("LoginUser(%s) created = %v, want %v", u.Identifier, created, wantCreated)
	}
	return got
}

var userTests = []test{
	{"FirstLoginCreatesTheUser", func(t *testing.T, s *suite) {
		st := s.open(t)
		u := loginAs("000000000000000000000001", "email", "a@example.com", t0, "192.0.2.1")
		got := login(t, st, u, true, true)
		if !reflect.DeepEqual(got, u) {
			t.Errorf("LoginUser returned\n%+v\nwant\n%+v", got, u)
		}
		byID, err := st.User(ctx(t), u.UserID)
		if err != nil || !reflect.DeepEqual(byID, u) {
			t.Errorf("User(%s) = %+v, %v; want %+v", u.UserID, byID, err, u)
		}
		byIdent, err := st.UserByIdentifier(ctx(t), "email", "a@example.com")
		if err != nil || !reflect.DeepEqual(byIdent, u) {
			t.Errorf("UserByIdentifier = %+v, %v; want %+v", byIdent, err, u)
		}
	}},
	{"NewUserCountsOneLogin", func(t *testing.T, s *suite) {
		st := s.open(t)
		u := loginAs("000000000000000000000001", "email", "a@example.com", t0, "192.0.2.1")
		u.LoginsCount = 0
		if got := login(t, st, u, true, true); got.LoginsCount != 1 {
			t.Errorf("new user has LoginsCount %d, want 1", got.LoginsCount)
		}
	}},
	{"NoSignupIsNotFound", func(t *testing.T, s *suite) {
		st := s.open(t)
		u := loginAs("000000000000000000000001", "email", "a@example.com", t0, "192.0.2.1")
		if _, _, err := st.LoginUser(ctx(t), u, false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("LoginUser without signup = %v, want ErrNotFound", err)
		}
		if _, err := st.UserByIdentifier(ctx(t), "email", "a@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a refused signup created the user (UserByIdentifier = %v)", err)
		}
	}},
	{"UnknownUserIsNotFound", func(t *testing.T, s *suite) {
		st := s.open(t)
		if _, err := st.User(ctx(t), "email|nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("User(unknown) = %v, want ErrNotFound", err)
		}
		if _, err := st.UserByIdentifier(ctx(t), "email", "nope@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByIdentifier(unknown) = %v, want ErrNotFound", err)
		}
	}},
	{"LaterLoginUpdatesLoginFieldsOnly", func(t *testing.T, s *suite) {
		st := s.open(t)
		first := loginAs("000000000000000000000001", "email", "a@example.com", t0, "192.0.2.1")
		login(t, st, first, true, true)

		later := t0.Add(48 * time.Hour)
		second := loginAs("000000000000000000000002", "email", "a@example.com", later, "198.51.100.7")
		second.Name, second.Picture = "changed", "changed"
		for _, allowSignup := range []bool{true, false} {
			got := login(t, st, second, allowSignup, false)
			want := first
			want.LastLogin, want.UpdatedAt, want.LastIP = later, later, "198.51.100.7"
			want.LoginsCount = 2
			if !allowSignup {
				want.LoginsCount = 3
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("login (allowSignup %v) returned\n%+v\nwant\n%+v", allowSignup, got, want)
			}
			if stored, err := st.UserByIdentifier(ctx(t), "email", "a@example.com"); err != nil || !reflect.DeepEqual(stored, want) {
				t.Errorf("stored user = %+v, %v; want %+v", stored, err, want)
			}
		}
		if _, err := st.User(ctx(t), second.UserID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the candidate UserID of a later login exists (User = %v)", err)
		}
	}},
	{"VerifiedFlagsOnlyTurnTrue", func(t *testing.T, s *suite) {
		st := s.open(t)
		u := loginAs("000000000000000000000001", "sms", "+15550100", t0, "192.0.2.1")
		u.Email, u.EmailVerified, u.PhoneNumber, u.PhoneVerified = "", false, "+15550100", false
		got := login(t, st, u, true, true)
		if got.PhoneVerified || got.EmailVerified {
			t.Fatalf("new user verified flags = %v/%v, want false/false as given", got.EmailVerified, got.PhoneVerified)
		}
		u.PhoneVerified = true
		if got := login(t, st, u, true, false); !got.PhoneVerified || got.EmailVerified {
			t.Errorf("after a verified login: email %v, phone %v; want false, true", got.EmailVerified, got.PhoneVerified)
		}
		u.PhoneVerified = false
		if got := login(t, st, u, true, false); !got.PhoneVerified {
			t.Errorf("a login with PhoneVerified false unverified the phone")
		}
	}},
	{"SameIdentifierOnAnotherConnectionIsAnotherUser", func(t *testing.T, s *suite) {
		st := s.open(t)
		a := login(t, st, loginAs("000000000000000000000001", "email", "a@example.com", t0, ""), true, true)
		b := login(t, st, loginAs("000000000000000000000002", "email-2", "a@example.com", t0, ""), true, true)
		if a.UserID == b.UserID {
			t.Errorf("both connections share user %s", a.UserID)
		}
	}},
	{"ClashingUserIDIsAlreadyExists", func(t *testing.T, s *suite) {
		st := s.open(t)
		login(t, st, loginAs("000000000000000000000001", "email", "a@example.com", t0, ""), true, true)
		_, _, err := st.LoginUser(ctx(t), loginAs("000000000000000000000001", "email", "b@example.com", t0, ""), true)
		if !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("signup with a taken UserID = %v, want ErrAlreadyExists", err)
		}
	}},
	{"ConcurrentFirstLoginsCreateOneUser", func(t *testing.T, s *suite) {
		st := s.open(t)
		users := make([]store.User, workers)
		created := make([]bool, workers)
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			u := loginAs(fmt.Sprintf("%024d", i), "email", "a@example.com", t0, "192.0.2.1")
			users[i], created[i], errs[i] = st.LoginUser(ctx(t), u, true)
		})
		n := 0
		for i := range workers {
			if errs[i] != nil {
				t.Fatalf("LoginUser %d: %v", i, errs[i])
			}
			if created[i] {
				n++
			}
			if users[i].UserID != users[0].UserID {
				t.Errorf("login %d got user %s, login 0 got %s", i, users[i].UserID, users[0].UserID)
			}
		}
		if n != 1 {
			t.Errorf("%d concurrent first logins reported created, want exactly 1", n)
		}
		u, err := st.UserByIdentifier(ctx(t), "email", "a@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if u.LoginsCount != workers {
			t.Errorf("LoginsCount = %d after %d logins", u.LoginsCount, workers)
		}
	}},
}
