package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// The users of the Management API: created, updated, deleted and listed by
// an operator, and their blocks.

// adminUser returns a user as the Management API creates one: every
// profile field set, metadata, never logged in.
func adminUser(id, connection, identifier string, created time.Time) store.User {
	u := store.User{
		UserID:        connection + "|" + id,
		Connection:    connection,
		Strategy:      connection,
		Identifier:    identifier,
		Name:          "Ada Lovelace",
		Nickname:      "ada",
		Picture:       "https://example.com/ada.png",
		GivenName:     "Ada",
		FamilyName:    "Lovelace",
		UserMetadata:  []byte(`{"theme":"dark"}`),
		AppMetadata:   []byte(`{"plan":"full","roles":["admin"]}`),
		CreatedAt:     created,
		UpdatedAt:     created,
		EmailVerified: false,
	}
	if connection == "sms" {
		u.PhoneNumber = identifier
	} else {
		u.Email = identifier
	}
	return u
}

func createUser(t *testing.T, st store.Store, u store.User) store.User {
	t.Helper()
	got, err := st.CreateUser(ctx(t), u)
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", u.UserID, err)
	}
	return got
}

func storedUser(t *testing.T, st store.Store, userID string) store.User {
	t.Helper()
	u, err := st.User(ctx(t), userID)
	if err != nil {
		t.Fatalf("User(%s): %v", userID, err)
	}
	return u
}

// userIDs lists the UserIDs of users, in order.
func userIDs(users []store.User) []string {
	ids := []string{}
	for _, u := range users {
		ids = append(ids, u.UserID)
	}
	return ids
}

// mergeMeta is the update a PATCH of user_metadata makes.
func mergeMeta(patch string) func(*store.User) error {
	return func(u *store.User) error {
		m, err := store.MergeMetadata(u.UserMetadata, []byte(patch))
		u.UserMetadata = m
		return err
	}
}

var userAdminTests = []test{
	{"CreateStoresEveryField", func(t *testing.T, s *suite) {
		st := s.open(t)
		u := adminUser("000000000000000000000001", "email", "ada@example.com", t0)
		u.EmailVerified, u.Blocked = true, true
		got := createUser(t, st, u)
		if !reflect.DeepEqual(got, u) {
			t.Errorf("CreateUser returned\n%+v\nwant\n%+v", got, u)
		}
		if got := storedUser(t, st, u.UserID); !reflect.DeepEqual(got, u) {
			t.Errorf("User returned\n%+v\nwant\n%+v", got, u)
		}
		if got, err := st.UserByIdentifier(ctx(t), "email", "ada@example.com"); err != nil || !reflect.DeepEqual(got, u) {
			t.Errorf("UserByIdentifier = %+v, %v; want %+v", got, err, u)
		}
		sms := adminUser("000000000000000000000002", "sms", "+15550100", t0)
		sms.UserMetadata, sms.AppMetadata = nil, nil
		if got := createUser(t, st, sms); !reflect.DeepEqual(got, sms) {
			t.Errorf("CreateUser without metadata returned\n%+v\nwant\n%+v", got, sms)
		}
	}},
	{"DuplicateIdentifierOnTheConnectionIsAlreadyExists", func(t *testing.T, s *suite) {
		st := s.open(t)
		createUser(t, st, adminUser("000000000000000000000001", "email", "ada@example.com", t0))
		_, err := st.CreateUser(ctx(t), adminUser("000000000000000000000002", "email", "ada@example.com", t0))
		if !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("CreateUser of a taken identifier = %v, want ErrAlreadyExists", err)
		}
		_, err = st.CreateUser(ctx(t), adminUser("000000000000000000000001", "email", "bob@example.com", t0))
		if !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("CreateUser of a taken user_id = %v, want ErrAlreadyExists", err)
		}
		// A first login finds the created user rather than a new one.
		u := loginAs("000000000000000000000003", "email", "ada@example.com", t0, "192.0.2.1")
		if got := login(t, st, u, true, false); got.UserID != "email|000000000000000000000001" || got.LoginsCount != 1 {
			t.Errorf("first login of a created user: %s with %d logins", got.UserID, got.LoginsCount)
		}
		// The same identifier on another connection is another user.
		createUser(t, st, adminUser("000000000000000000000004", "email-2", "ada@example.com", t0))
	}},
	{"ConcurrentCreatesOfOneIdentifierCreateOne", func(t *testing.T, s *suite) {
		st := s.open(t)
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			_, errs[i] = st.CreateUser(ctx(t), adminUser(fmt.Sprintf("%024d", i), "email", "ada@example.com", t0))
		})
		created := 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, store.ErrAlreadyExists):
				t.Errorf("CreateUser %d: %v, want nil or ErrAlreadyExists", i, err)
			}
		}
		if created != 1 {
			t.Errorf("%d concurrent creations of one identifier succeeded, want 1", created)
		}
		page, err := st.ListUsers(ctx(t), store.UserQuery{Limit: 100})
		if err != nil || page.Total != 1 {
			t.Errorf("ListUsers after the race: %d users, %v", page.Total, err)
		}
	}},
	{"UpdateWritesWhatFnLeaves", func(t *testing.T, s *suite) {
		st := s.open(t)
		u := createUser(t, st, adminUser("000000000000000000000001", "email", "ada@example.com", t0))
		later := t0.Add(time.Hour)
		want := u
		want.Identifier, want.Email, want.EmailVerified = "countess@example.com", "countess@example.com", true
		want.Name, want.Nickname, want.Picture, want.GivenName, want.FamilyName = "Countess", "c", "https://example.com/c.png", "Augusta", "King"
		want.PhoneNumber, want.PhoneVerified = "+15550100", true
		want.UserMetadata, want.AppMetadata, want.Blocked, want.UpdatedAt = []byte(`{"a":1}`), nil, true, later
		got, err := st.UpdateUser(ctx(t), u.UserID, func(v *store.User) error {
			if !reflect.DeepEqual(*v, u) {
				t.Errorf("fn was given\n%+v\nwant the stored\n%+v", *v, u)
			}
			*v = want
			return nil
		})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("UpdateUser = %+v, %v; want %+v", got, err, want)
		}
		if got := storedUser(t, st, u.UserID); !reflect.DeepEqual(got, want) {
			t.Errorf("stored after the update\n%+v\nwant\n%+v", got, want)
		}
		if _, err := st.UserByIdentifier(ctx(t), "email", "ada@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the old identifier still finds the user: %v", err)
		}
		if got, err := st.UserByIdentifier(ctx(t), "email", "countess@example.com"); err != nil || got.UserID != u.UserID {
			t.Errorf("the new identifier finds %+v, %v", got, err)
		}
	}},
	{"UpdateRefusalsWriteNothing", func(t *testing.T, s *suite) {
		st := s.open(t)
		u := createUser(t, st, adminUser("000000000000000000000001", "email", "ada@example.com", t0))
		createUser(t, st, adminUser("000000000000000000000002", "email", "bob@example.com", t0))
		if _, err := st.UpdateUser(ctx(t), "email|nobody", func(*store.User) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateUser(unknown) = %v, want ErrNotFound", err)
		}
		errFn := errors.New("refused by fn")
		for _, c := range []struct {
			name string
			fn   func(*store.User) error
			want error
		}{
			{"fn's error", func(v *store.User) error { v.Name = "x"; return errFn }, errFn},
			{"another user's identifier", func(v *store.User) error {
				v.Identifier, v.Email, v.Name = "bob@example.com", "bob@example.com", "x"
				return nil
			}, store.ErrAlreadyExists},
			{"a new user_id", func(v *store.User) error { v.UserID, v.Name = "email|x", "x"; return nil }, store.ErrUserChange},
			{"a new connection", func(v *store.User) error { v.Connection, v.Name = "email-2", "x"; return nil }, store.ErrUserChange},
			{"a new creation time", func(v *store.User) error { v.CreatedAt, v.Name = t0.Add(time.Hour), "x"; return nil }, store.ErrUserChange},
			{"no identifier", func(v *store.User) error { v.Identifier, v.Name = "", "x"; return nil }, store.ErrUserChange},
		} {
			if _, err := st.UpdateUser(ctx(t), u.UserID, c.fn); !errors.Is(err, c.want) {
				t.Errorf("UpdateUser with %s = %v, want %v", c.name, err, c.want)
			}
			if got := storedUser(t, st, u.UserID); !reflect.DeepEqual(got, u) {
				t.Errorf("after UpdateUser with %s the user is\n%+v\nwant it unchanged\n%+v", c.name, got, u)
			}
		}
	}},
	{"ConcurrentUpdatesAndLoginsLoseNothing", func(t *testing.T, s *suite) {
		st := s.open(t)
		u := createUser(t, st, adminUser("000000000000000000000001", "email", "ada@example.com", t0))
		errs := make([]error, 2*workers)
		parallel(2*workers, func(i int) {
			if i%2 == 0 {
				_, errs[i] = st.UpdateUser(ctx(t), u.UserID, mergeMeta(fmt.Sprintf(`{"k%02d":%d}`, i, i)))
				return
			}
			_, _, errs[i] = st.LoginUser(ctx(t), loginAs(fmt.Sprintf("%024d", 100+i), "email", "ada@example.com", t0, ""), false)
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		got := storedUser(t, st, u.UserID)
		meta := `{`
		for i := 0; i < 2*workers; i += 2 {
			meta += fmt.Sprintf(`"k%02d":%d,`, i, i)
		}
		meta += `"theme":"dark"}`
		if string(got.UserMetadata) != meta {
			t.Errorf("after %d concurrent merges: %s\nwant %s", workers, got.UserMetadata, meta)
		}
		if got.LoginsCount != workers {
			t.Errorf("after %d concurrent logins and updates: LoginsCount %d", workers, got.LoginsCount)
		}
	}},
	{"BlockedUserCannotLogIn", func(t *testing.T, s *suite) {
		st := s.open(t)
		u := adminUser("000000000000000000000001", "email", "ada@example.com", t0)
		u.Blocked = true
		u = createUser(t, st, u)
		got, created, err := st.LoginUser(ctx(t), loginAs("000000000000000000000002", "email", "ada@example.com", t0, "192.0.2.1"), true)
		if !errors.Is(err, store.ErrUserBlocked) || created || got.UserID != u.UserID {
			t.Errorf("LoginUser of a blocked user = %s, %v, %v; want the user and ErrUserBlocked", got.UserID, created, err)
		}
		if got := storedUser(t, st, u.UserID); !reflect.DeepEqual(got, u) {
			t.Errorf("a refused login changed the user:\n%+v\nwant\n%+v", got, u)
		}

		// Through a code: it is used up, and nothing of the login recorded.
		createCode(t, st, newCode("c1", "email", "ada@example.com", "123456", t0), nil)
		l := loginAs("000000000000000000000003", "email", "ada@example.com", t0, "192.0.2.1")
		res, err := st.GuessCode(ctx(t), "email", "ada@example.com", [][]byte{mac("123456")}, t0, true, store.Guard{Login: &l, AllowSignup: true})
		if err != nil || !res.UserBlocked || res.User.UserID != u.UserID || res.Created || res.SignupRefused {
			t.Fatalf("a right code of a blocked user: %+v, %v", res, err)
		}
		verify(t, st, "email", "ada@example.com", "123456", t0, store.ErrCodeStale)
		if got := storedUser(t, st, u.UserID); !reflect.DeepEqual(got, u) {
			t.Errorf("a refused login by code changed the user:\n%+v\nwant\n%+v", got, u)
		}

		// Unblocked, the next login goes through.
		if _, err := st.UpdateUser(ctx(t), u.UserID, func(v *store.User) error { v.Blocked = false; return nil }); err != nil {
			t.Fatal(err)
		}
		createCode(t, st, newCode("c2", "email", "ada@example.com", "654321", t0), nil)
		res, err = st.GuessCode(ctx(t), "email", "ada@example.com", [][]byte{mac("654321")}, t0, true, store.Guard{Login: &l, AllowSignup: true})
		if err != nil || res.UserBlocked || res.User.UserID != u.UserID || res.User.LoginsCount != 1 {
			t.Fatalf("a right code after the unblock: %+v, %v", res, err)
		}
	}},
	{"DeleteRemovesTheUserAndWhatIsTheirs", func(t *testing.T, s *suite) {
		st := s.open(t)
		ada := createUser(t, st, adminUser("000000000000000000000001", "email", "ada@example.com", t0))
		bob := createUser(t, st, adminUser("000000000000000000000002", "email", "bob@example.com", t0))
		theirs := func(id string, userID string) {
			tok := newToken("rt-"+id, "", t0)
			tok.UserID = userID
			createToken(t, st, tok)
			sess := newSession("s-"+id, t0)
			sess.UserID = userID
			createSession(t, st, sess)
			ac := newAuthCode("ac-"+id, t0)
			ac.UserID = userID
			createAuthCode(t, st, ac)
			lt := newTicket("lt-"+id, t0)
			lt.UserID = userID
			createTicket(t, st, lt)
		}
		theirs("ada", ada.UserID)
		theirs("bob", bob.UserID)
		createCode(t, st, newCode("c-ada", "email", "ada@example.com", "123456", t0), nil)
		createCode(t, st, newCode("c-bob", "email", "bob@example.com", "123456", t0), nil)

		if err := st.DeleteUser(ctx(t), ada.UserID); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		if _, err := st.User(ctx(t), ada.UserID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("User after DeleteUser = %v, want ErrNotFound", err)
		}
		if _, err := st.RefreshToken(ctx(t), tokenHash("rt-ada")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the deleted user's refresh token: %v, want ErrNotFound", err)
		}
		session(t, st, "s-ada", t0, store.ErrNotFound)
		redeem(t, st, "ac-ada", t0, store.ErrNotFound)
		redeemTicket(t, st, "lt-ada", t0, store.ErrNotFound)
		verify(t, st, "email", "ada@example.com", "123456", t0, store.ErrCodeStale)

		// Bob keeps everything.
		storedUser(t, st, bob.UserID)
		lookup(t, st, "rt-bob")
		session(t, st, "s-bob", t0, nil)
		redeem(t, st, "ac-bob", t0, nil)
		redeemTicket(t, st, "lt-bob", t0, nil)
		verify(t, st, "email", "bob@example.com", "123456", t0, nil)

		if err := st.DeleteUser(ctx(t), ada.UserID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteUser again = %v, want ErrNotFound", err)
		}
		// The identifier is free again: a new user, with a new id.
		if got := login(t, st, loginAs("000000000000000000000003", "email", "ada@example.com", t0, ""), true, true); got.UserID == ada.UserID {
			t.Errorf("a login after the deletion found the deleted user")
		}
	}},
	{"ListPagesInCreationOrder", func(t *testing.T, s *suite) {
		st := s.open(t)
		var all []string
		for i := range 7 {
			// Created out of order; u3 and u4 at the same instant.
			at := t0.Add(time.Duration([]int{5, 1, 3, 2, 2, 6, 4}[i]) * time.Minute)
			u := createUser(t, st, adminUser(fmt.Sprintf("%024d", i), "email", fmt.Sprintf("u%d@example.com", i), at))
			all = append(all, u.UserID)
		}
		id := func(i int) string { return all[i] }
		asc := []string{id(1), id(3), id(4), id(2), id(6), id(0), id(5)}
		desc := slices.Clone(asc)
		slices.Reverse(desc)
		for _, c := range []struct {
			q    store.UserQuery
			want []string
		}{
			{store.UserQuery{Limit: 50}, asc},
			{store.UserQuery{Limit: 3}, asc[:3]},
			{store.UserQuery{Offset: 3, Limit: 3}, asc[3:6]},
			{store.UserQuery{Offset: 6, Limit: 3}, asc[6:]},
			{store.UserQuery{Offset: 9, Limit: 3}, []string{}},
			{store.UserQuery{Limit: 0}, []string{}},
			{store.UserQuery{Descending: true, Limit: 50}, desc},
			{store.UserQuery{Descending: true, Offset: 2, Limit: 2}, desc[2:4]},
		} {
			page, err := st.ListUsers(ctx(t), c.q)
			if err != nil {
				t.Fatalf("ListUsers(%+v): %v", c.q, err)
			}
			if got := userIDs(page.Users); !slices.Equal(got, c.want) || page.Total != 7 {
				t.Errorf("ListUsers(%+v) = %q (total %d), want %q (total 7)", c.q, got, page.Total, c.want)
			}
		}
		page, err := st.ListUsers(ctx(t), store.UserQuery{Limit: 1})
		if want := storedUser(t, st, asc[0]); err != nil || len(page.Users) != 1 || !reflect.DeepEqual(page.Users[0], want) {
			t.Errorf("ListUsers gives\n%+v, %v\nwant\n%+v", page.Users, err, want)
		}
	}},
	{"ListSortsByLastLogin", func(t *testing.T, s *suite) {
		st := s.open(t)
		never := createUser(t, st, adminUser("000000000000000000000001", "email", "never@example.com", t0))
		early := createUser(t, st, adminUser("000000000000000000000002", "email", "early@example.com", t0))
		late := createUser(t, st, adminUser("000000000000000000000003", "email", "late@example.com", t0))
		login(t, st, loginAs("000000000000000000000009", "email", "late@example.com", t0.Add(2*time.Hour), ""), false, false)
		login(t, st, loginAs("000000000000000000000009", "email", "early@example.com", t0.Add(time.Hour), ""), false, false)
		for _, c := range []struct {
			desc bool
			want []string
		}{
			{false, []string{never.UserID, early.UserID, late.UserID}},
			{true, []string{late.UserID, early.UserID, never.UserID}},
		} {
			page, err := st.ListUsers(ctx(t), store.UserQuery{Sort: store.SortLastLogin, Descending: c.desc, Limit: 10})
			if got := userIDs(page.Users); err != nil || !slices.Equal(got, c.want) {
				t.Errorf("ListUsers by last login (descending %v) = %q, %v; want %q", c.desc, got, err, c.want)
			}
		}
	}},
	{"ListFiltersExactly", func(t *testing.T, s *suite) {
		st := s.open(t)
		a := createUser(t, st, adminUser("000000000000000000000001", "email", "ada@example.com", t0))
		a2 := createUser(t, st, adminUser("000000000000000000000002", "email-2", "ada@example.com", t0.Add(time.Second)))
		createUser(t, st, adminUser("000000000000000000000003", "email", "ada@example.co", t0))
		p := createUser(t, st, adminUser("000000000000000000000004", "sms", "+15550100", t0))
		createUser(t, st, adminUser("000000000000000000000005", "sms", "+155501000", t0))
		for _, c := range []struct {
			q    store.UserQuery
			want []string
		}{
			{store.UserQuery{Email: "ada@example.com"}, []string{a.UserID, a2.UserID}},
			{store.UserQuery{Email: "ADA@example.com"}, []string{}},
			{store.UserQuery{PhoneNumber: "+15550100"}, []string{p.UserID}},
			{store.UserQuery{UserID: a2.UserID}, []string{a2.UserID}},
			{store.UserQuery{UserID: a2.UserID, Email: "ada@example.com"}, []string{a2.UserID}},
			{store.UserQuery{UserID: p.UserID, Email: "ada@example.com"}, []string{}},
			{store.UserQuery{Email: "ada@example.com", Offset: 1}, []string{a2.UserID}},
			{store.UserQuery{Connection: "email-2"}, []string{a2.UserID}},
			{store.UserQuery{Connection: "email", Email: "ada@example.com"}, []string{a.UserID}},
			{store.UserQuery{Connection: "sms", UserID: a.UserID}, []string{}},
			{store.UserQuery{Connection: "nope"}, []string{}},
		} {
			c.q.Limit = 10
			page, err := st.ListUsers(ctx(t), c.q)
			if err != nil {
				t.Fatalf("ListUsers(%+v): %v", c.q, err)
			}
			total := len(c.want) + c.q.Offset
			if got := userIDs(page.Users); !slices.Equal(got, c.want) || page.Total != total {
				t.Errorf("ListUsers(%+v) = %q (total %d), want %q (total %d)", c.q, got, page.Total, c.want, total)
			}
		}
	}},
	{"UsersByEmailSpansConnections", func(t *testing.T, s *suite) {
		st := s.open(t)
		b := createUser(t, st, adminUser("000000000000000000000001", "email-2", "ada@example.com", t0.Add(time.Minute)))
		a := createUser(t, st, adminUser("000000000000000000000002", "email", "ada@example.com", t0))
		p := adminUser("000000000000000000000003", "sms", "+15550100", t0.Add(2*time.Minute))
		p.Email = "ada@example.com"
		p = createUser(t, st, p)
		createUser(t, st, adminUser("000000000000000000000004", "email", "bob@example.com", t0))
		users, err := st.UsersByEmail(ctx(t), "ada@example.com")
		if got, want := userIDs(users), []string{a.UserID, b.UserID, p.UserID}; err != nil || !slices.Equal(got, want) {
			t.Errorf("UsersByEmail = %q, %v; want %q", got, err, want)
		}
		if len(users) == 3 && !reflect.DeepEqual(users[2], p) {
			t.Errorf("UsersByEmail gives\n%+v\nwant\n%+v", users[2], p)
		}
		users, err = st.UsersByEmail(ctx(t), "carol@example.com")
		if err != nil || users == nil || len(users) != 0 {
			t.Errorf("UsersByEmail(nobody's) = %#v, %v; want an empty list", users, err)
		}
	}},
}

// blockOfTests: the blocks of one identifier, as the Management API's
// user-blocks endpoints read and clear them.
var blockOfTests = []test{
	{"BlocksOfListsTheIdentifiersBlocksInForce", func(t *testing.T, s *suite) {
		st := s.open(t)
		for _, conn := range []string{"email", "email-2"} {
			liveCode(t, st, conn, "ada@example.com", t0)
		}
		liveCode(t, st, "email", "bob@example.com", t0)
		wrongGuess(t, st, "email", "ada@example.com", t0, pairGuard("pair", "192.0.2.1", 1))
		wrongGuess(t, st, "email-2", "ada@example.com", t0.Add(time.Second), pairGuard("other", "192.0.2.2", 1))
		wrongGuess(t, st, "email", "ada@example.com", t0.Add(2*time.Second), accountGuard("account", "192.0.2.3", 1, failureWindow))
		wrongGuess(t, st, "email", "bob@example.com", t0, pairGuard("bob", "192.0.2.1", 1))
		// An address blocked on every identifier is not ada's block.
		ipGuard := named("ip", store.Guard{Protect: true, IP: "192.0.2.9", IPThreshold: 1, IPWindow: time.Hour})
		wrongGuess(t, st, "email", "bob@example.com", t0.Add(3*time.Second), ipGuard)

		check := func(connection string, now time.Time, want ...string) {
			t.Helper()
			blocks, err := st.BlocksOf(ctx(t), connection, "ada@example.com", now)
			if err != nil {
				t.Fatalf("BlocksOf(%q): %v", connection, err)
			}
			var got []string
			for _, b := range blocks {
				got = append(got, b.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("BlocksOf(%q) at %v = %q, want %q", connection, now.Sub(t0), got, want)
			}
		}
		check("", t0.Add(4*time.Second), "account-1", "other-1", "pair-1")
		check("email", t0.Add(4*time.Second), "account-1", "pair-1")
		check("email-2", t0.Add(4*time.Second), "other-1")
		check("sms", t0.Add(4*time.Second))
		// The pair blocks end after blockLifetime; the account's lasts
		// the window.
		check("", t0.Add(blockLifetime+time.Minute), "account-1")
		if blocks, err := st.BlocksOf(ctx(t), "", "nobody@example.com", t0); err != nil || len(blocks) != 0 {
			t.Errorf("BlocksOf(nobody) = %v, %v", blocks, err)
		}
		if blocks, err := st.BlocksOf(ctx(t), "", "", t0.Add(4*time.Second)); err != nil || len(blocks) != 0 {
			t.Errorf("BlocksOf(\"\") lists the address's block: %v, %v", blocks, err)
		}
	}},
	{"ClearBlocksOfClearsOneConnection", func(t *testing.T, s *suite) {
		st := s.open(t)
		for _, conn := range []string{"email", "email-2"} {
			liveCode(t, st, conn, "ada@example.com", t0)
		}
		// Two failures that the account rule counts, then a pair block
		// on email; a pair block on email-2.
		account := accountGuard("account", "192.0.2.5", 3, failureWindow)
		for i := range 2 {
			wrongGuess(t, st, "email", "ada@example.com", t0.Add(time.Duration(i)*time.Second), account)
		}
		wrongGuess(t, st, "email", "ada@example.com", t0.Add(2*time.Second), pairGuard("pair", "192.0.2.1", 1))
		wrongGuess(t, st, "email-2", "ada@example.com", t0.Add(2*time.Second), pairGuard("other", "192.0.2.1", 1))

		n, err := st.ClearBlocksOf(ctx(t), "email", "ada@example.com")
		if err != nil || n != 1 {
			t.Fatalf("ClearBlocksOf = %d, %v; want 1 block", n, err)
		}
		now := t0.Add(3 * time.Second)
		wantRefusedBy(t, st, "email", "ada@example.com", "192.0.2.1", now, "")
		wantRefusedBy(t, st, "email-2", "ada@example.com", "192.0.2.1", now, "other-1")
		// The identifier's failures on email are forgotten: one more
		// does not reach the account threshold of 3.
		if ids := wrongGuess(t, st, "email", "ada@example.com", now, account); len(ids) != 0 {
			t.Errorf("the first failure after the clear blocked: %v", ids)
		}
		if n, err := st.ClearBlocksOf(ctx(t), "email", "ada@example.com"); err != nil || n != 0 {
			t.Errorf("ClearBlocksOf again = %d, %v; want 0", n, err)
		}
	}},
}
