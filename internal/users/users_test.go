package users

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/sqlite"
	"github.com/sesame-id/sesame/internal/tenant"
)

var (
	now      = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	emailCon = &tenant.Connection{Name: "email", Strategy: "email"}
	smsCon   = &tenant.Connection{Name: "sms", Strategy: "sms"}
)

func ptr[T any](v T) *T { return &v }

// invalid fails unless err is an invalid request with Auth0's code.
func invalid(t *testing.T, what string, err error, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Kind != fault.Invalid || e.Code != code {
		t.Errorf("%s: %v, want an invalid request (%s)", what, err, code)
	}
}

var objectID = regexp.MustCompile(`^[0-9a-f]{24}$`)

func TestNew_MakesTheUserALoginWouldWithTheGivenFields(t *testing.T) {
	u, err := New(emailCon, CreateRequest{Email: "Alice@Example.COM"}, now)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := strings.CutPrefix(u.UserID, "email|")
	if !ok || !objectID.MatchString(id) {
		t.Errorf("UserID %q is not email|<24 hex>", u.UserID)
	}
	want := store.User{UserID: u.UserID, Connection: "email", Strategy: "email", Identifier: "alice@example.com",
		Email: "alice@example.com", Name: "alice@example.com", Nickname: "alice",
		Picture: passwordless.Gravatar("alice@example.com"), CreatedAt: now, UpdatedAt: now}
	if !equalUsers(u, want) {
		t.Errorf("New = %+v\nwant %+v", u, want)
	}

	u, err = New(smsCon, CreateRequest{PhoneNumber: " +14155552671 ", Email: "Bob@Example.com", PhoneVerified: true,
		Name: "Bob", Nickname: "bobby", Picture: "https://example.com/b.png", GivenName: "Robert", FamilyName: "Tables",
		UserMetadata: json.RawMessage(`{"b":2, "a":1}`), AppMetadata: json.RawMessage(`{"plan":"full"}`), Blocked: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	want = store.User{UserID: u.UserID, Connection: "sms", Strategy: "sms", Identifier: "+14155552671",
		Email: "bob@example.com", PhoneNumber: "+14155552671", PhoneVerified: true,
		Name: "Bob", Nickname: "bobby", Picture: "https://example.com/b.png", GivenName: "Robert", FamilyName: "Tables",
		UserMetadata: []byte(`{"a":1,"b":2}`), AppMetadata: []byte(`{"plan":"full"}`), Blocked: true,
		CreatedAt: now, UpdatedAt: now}
	if !strings.HasPrefix(u.UserID, "sms|") || !equalUsers(u, want) {
		t.Errorf("New = %+v\nwant %+v", u, want)
	}
	if u, err := New(emailCon, CreateRequest{Email: "a@example.com", UserMetadata: json.RawMessage(`{}`)}, now); err != nil || u.UserMetadata != nil {
		t.Errorf("empty metadata: %s, %v; want none", u.UserMetadata, err)
	}
}

func equalUsers(a, b store.User) bool {
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	return string(aj) == string(bj)
}

func TestNew_RefusesWhatAuth0Refuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		conn *tenant.Connection
		req  CreateRequest
		code string
	}{
		{"no email", emailCon, CreateRequest{PhoneNumber: "+14155552671"}, CodeInvalidBody},
		{"no phone_number", smsCon, CreateRequest{Email: "a@example.com"}, CodeInvalidBody},
		{"a bad email", emailCon, CreateRequest{Email: "not an address"}, CodeInvalidBody},
		{"a bad phone_number", smsCon, CreateRequest{PhoneNumber: "+1 415 555 2671"}, CodeInvalidBody},
		{"a bad extra phone_number", emailCon, CreateRequest{Email: "a@example.com", PhoneNumber: "12"}, CodeInvalidBody},
		{"metadata that is no object", emailCon, CreateRequest{Email: "a@example.com", UserMetadata: json.RawMessage(`[1]`)}, CodeInvalidBody},
		{"a metadata name with a dot", emailCon, CreateRequest{Email: "a@example.com", AppMetadata: json.RawMessage(`{"a.b":1}`)}, CodeInvalidBody},
		{"a metadata name with a dollar", emailCon, CreateRequest{Email: "a@example.com", UserMetadata: json.RawMessage(`{"$set":1}`)}, CodeInvalidBody},
		{"a name too long", emailCon, CreateRequest{Email: "a@example.com", Name: strings.Repeat("n", maxName+1)}, CodeInvalidBody},
		{"a given_name too long", emailCon, CreateRequest{Email: "a@example.com", GivenName: strings.Repeat("n", maxPartName+1)}, CodeInvalidBody},
		{"a NUL in a name", emailCon, CreateRequest{Email: "a@example.com", Nickname: "a\x00b"}, CodeInvalidBody},
		{"invalid UTF-8", emailCon, CreateRequest{Email: "a@example.com", FamilyName: "\xff"}, CodeInvalidBody},
		{"a connection of another strategy", &tenant.Connection{Name: "db", Strategy: "auth0"}, CreateRequest{Email: "a@example.com"}, CodeNotSupported},
	} {
		u, err := New(tc.conn, tc.req, now)
		invalid(t, tc.name, err, tc.code)
		if err == nil {
			t.Errorf("%s: created %+v", tc.name, u)
		}
	}
}

func TestPatchApply_FollowsAuth0sRules(t *testing.T) {
	base, err := New(emailCon, CreateRequest{Email: "ada@example.com", EmailVerified: true, PhoneNumber: "+14155552671",
		PhoneVerified: true, UserMetadata: json.RawMessage(`{"theme":"dark","lang":"en"}`)}, now)
	if err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Hour)
	for _, tc := range []struct {
		name  string
		patch Patch
		check func(u store.User) bool
	}{
		{"a new email is canonical, the identifier, and unverified",
			Patch{Email: ptr(" Countess@EXAMPLE.com")},
			func(u store.User) bool {
				return u.Email == "countess@example.com" && u.Identifier == "countess@example.com" && !u.EmailVerified
			}},
		{"a new email verified by the patch",
			Patch{Email: ptr("countess@example.com"), EmailVerified: ptr(true)},
			func(u store.User) bool { return u.Identifier == "countess@example.com" && u.EmailVerified }},
		{"the same email spelled otherwise changes nothing",
			Patch{Email: ptr("ADA@example.com")},
			func(u store.User) bool { return u.Identifier == "ada@example.com" && u.EmailVerified }},
		{"an email user's new phone number is not their identifier",
			Patch{PhoneNumber: ptr("+442071838750")},
			func(u store.User) bool {
				return u.PhoneNumber == "+442071838750" && !u.PhoneVerified && u.Identifier == "ada@example.com"
			}},
		{"an email user's phone number can go",
			Patch{PhoneNumber: ptr("")},
			func(u store.User) bool { return u.PhoneNumber == "" && !u.PhoneVerified }},
		{"metadata is merged at the top level, null removes",
			Patch{UserMetadata: json.RawMessage(`{"lang":null,"tz":"UTC"}`), AppMetadata: json.RawMessage(`{"plan":"full"}`)},
			func(u store.User) bool {
				return string(u.UserMetadata) == `{"theme":"dark","tz":"UTC"}` && string(u.AppMetadata) == `{"plan":"full"}`
			}},
		{"null metadata goes", Patch{UserMetadata: json.RawMessage(`null`)},
			func(u store.User) bool { return u.UserMetadata == nil }},
		{"profile fields and blocked",
			Patch{Name: ptr("Countess"), Nickname: ptr(""), GivenName: ptr("Augusta"), FamilyName: ptr("King"),
				Picture: ptr("https://example.com/c.png"), Blocked: ptr(true)},
			func(u store.User) bool {
				return u.Name == "Countess" && u.Nickname == "" && u.GivenName == "Augusta" && u.FamilyName == "King" &&
					u.Picture == "https://example.com/c.png" && u.Blocked
			}},
		{"an empty patch touches only updated_at", Patch{},
			func(u store.User) bool {
				v := base
				v.UpdatedAt = later
				return equalUsers(u, v)
			}},
	} {
		u := base
		if err := tc.patch.Apply(&u, later); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !tc.check(u) || !u.UpdatedAt.Equal(later) {
			t.Errorf("%s: got %+v", tc.name, u)
		}
	}

	sms, err := New(smsCon, CreateRequest{PhoneNumber: "+14155552671", PhoneVerified: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	if u := base; (Patch{Picture: ptr("https://cdn.example.com/me.png")}).Apply(&u, later) != nil || u.Picture != "https://cdn.example.com/me.png" {
		t.Errorf("an https picture: %q", u.Picture)
	}
	u := sms
	if err := (Patch{PhoneNumber: ptr("+442071838750"), Email: ptr("Bob@Example.com")}).Apply(&u, later); err != nil ||
		u.Identifier != "+442071838750" || u.PhoneVerified || u.Email != "bob@example.com" {
		t.Errorf("an sms user's new number: %+v, %v", u, err)
	}

	for _, tc := range []struct {
		name  string
		user  store.User
		patch Patch
	}{
		{"an email user's email removed", base, Patch{Email: ptr("")}},
		{"an sms user's number removed", sms, Patch{PhoneNumber: ptr("")}},
		{"a bad email", base, Patch{Email: ptr("no")}},
		{"a bad number", sms, Patch{PhoneNumber: ptr("+1")}},
		{"metadata that is no object", base, Patch{AppMetadata: json.RawMessage(`"x"`)}},
		{"a metadata name with a dot", base, Patch{UserMetadata: json.RawMessage(`{"a.b":1}`)}},
		{"a name with a control character", base, Patch{Name: ptr("a\nb")}},
		{"a javascript: picture", base, Patch{Picture: ptr("javascript:alert(1)")}},
		{"a data: picture", base, Patch{Picture: ptr("data:image/png;base64,AAAA")}},
		{"a relative picture", base, Patch{Picture: ptr("/me.png")}},
		{"a picture without a host", base, Patch{Picture: ptr("https:///me.png")}},
	} {
		u := tc.user
		invalid(t, tc.name, tc.patch.Apply(&u, later), CodeInvalidBody)
	}
}

// openStore is a migrated SQLite store in a file of the test's.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "sesame.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestService_CreateFindUpdateDelete(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	clock := now
	svc := &Service{Store: st, Now: func() time.Time { clock = clock.Add(time.Second); return clock }}

	ada, err := svc.Create(ctx, emailCon, CreateRequest{Email: "Ada@Example.com", UserMetadata: json.RawMessage(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, emailCon, CreateRequest{Email: "ADA@example.com"}); !errors.Is(err, ErrUserExists) {
		t.Errorf("a second user with one address: %v, want ErrUserExists", err)
	}
	bob, err := svc.Create(ctx, emailCon, CreateRequest{Email: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	other := &tenant.Connection{Name: "email-2", Strategy: "email"}
	ada2, err := svc.Create(ctx, other, CreateRequest{Email: "ada@example.com"})
	if err != nil {
		t.Fatalf("the same address on another connection: %v", err)
	}

	if got, err := svc.Get(ctx, ada.UserID); err != nil || got.UserID != ada.UserID {
		t.Errorf("Get = %+v, %v", got, err)
	}
	if _, err := svc.Get(ctx, "email|nobody"); !errors.Is(err, ErrUserNotFound) {
		t.Errorf("Get(unknown) = %v, want ErrUserNotFound", err)
	}

	users, err := svc.ByEmail(ctx, "  ADA@example.COM")
	if err != nil || len(users) != 2 || users[0].UserID != ada.UserID || users[1].UserID != ada2.UserID {
		t.Errorf("ByEmail = %+v, %v; want ada on both connections", users, err)
	}
	_, err = svc.ByEmail(ctx, "")
	invalid(t, "ByEmail without an address", err, CodeInvalidQuery)

	page, err := svc.List(ctx, ListRequest{Q: `email:"ADA@example.com"`, Sort: "created_at:-1"})
	if err != nil || page.Total != 2 || len(page.Users) != 2 {
		t.Errorf("List by email = %+v, %v", page, err)
	}
	_, err = svc.List(ctx, ListRequest{Q: `email:a* OR name:x`})
	invalid(t, "List with an unsupported query", err, CodeInvalidQuery)

	// An update: merged metadata, a new address that must stay unique.
	got, err := svc.Update(ctx, ada.UserID, Patch{UserMetadata: json.RawMessage(`{"b":2}`), Blocked: ptr(true)})
	if err != nil || string(got.UserMetadata) != `{"a":1,"b":2}` || !got.Blocked {
		t.Errorf("Update = %+v, %v", got, err)
	}
	if _, err := svc.Update(ctx, ada.UserID, Patch{Email: ptr("BOB@example.com"), Name: ptr("x")}); !errors.Is(err, ErrUserExists) {
		t.Errorf("Update to bob's address = %v, want ErrUserExists", err)
	}
	_, err = svc.Update(ctx, ada.UserID, Patch{Name: ptr("x"), UserMetadata: json.RawMessage(`[]`)})
	invalid(t, "Update with bad metadata", err, CodeInvalidBody)
	if stored, _ := svc.Get(ctx, ada.UserID); stored.Name != ada.Name || stored.Email != "ada@example.com" {
		t.Errorf("refused updates changed the user: %+v", stored)
	}
	if _, err := svc.Update(ctx, "email|nobody", Patch{}); !errors.Is(err, ErrUserNotFound) {
		t.Errorf("Update(unknown) = %v, want ErrUserNotFound", err)
	}

	if err := svc.Delete(ctx, bob.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Get(ctx, bob.UserID); !errors.Is(err, ErrUserNotFound) {
		t.Errorf("Get after Delete = %v", err)
	}
	if err := svc.Delete(ctx, bob.UserID); err != nil {
		t.Errorf("deleting a deleted user: %v, want nil as Auth0 answers 204", err)
	}
}

func TestService_BlocksOfIdentifiersAndUsers(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	svc := &Service{Store: st, Now: func() time.Time { return now }}
	ada, err := svc.Create(ctx, emailCon, CreateRequest{Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// Blocks as brute-force protection makes them: one wrong guess each
	// from 192.0.2.1 with a pair threshold of 1, on two connections.
	for _, conn := range []string{"email", "email-2"} {
		block(t, st, conn, "ada@example.com", "192.0.2.1")
	}
	want := func(what string, got Blocks, err error, connections ...string) {
		t.Helper()
		var conns []string
		for _, b := range got.BlockedFor {
			if b.Identifier != "ada@example.com" || b.IP != "192.0.2.1" {
				t.Errorf("%s: %+v", what, b)
			}
			conns = append(conns, b.Connection)
		}
		if err != nil || strings.Join(conns, ",") != strings.Join(connections, ",") || got.BlockedFor == nil {
			t.Errorf("%s = %+v, %v; want blocks on %v", what, got, err, connections)
		}
	}
	got, err := svc.BlocksOfIdentifier(ctx, " ADA@example.com")
	want("BlocksOfIdentifier", got, err, "email-2", "email")
	got, err = svc.BlocksOfUser(ctx, ada.UserID)
	want("BlocksOfUser", got, err, "email")
	if _, err := svc.BlocksOfUser(ctx, "email|nobody"); !errors.Is(err, ErrUserNotFound) {
		t.Errorf("BlocksOfUser(unknown) = %v", err)
	}
	_, err = svc.BlocksOfIdentifier(ctx, " ")
	invalid(t, "BlocksOfIdentifier without one", err, CodeInvalidQuery)

	rel, err := svc.UnblockUser(ctx, ada.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if rel.Identifier != "ada@example.com" || rel.Connection != "email" || rel.UserID != ada.UserID || rel.Blocks != 1 {
		t.Errorf("UnblockUser released %+v", rel)
	}
	got, err = svc.BlocksOfIdentifier(ctx, "ada@example.com")
	want("after UnblockUser", got, err, "email-2")
	rel, err = svc.UnblockIdentifier(ctx, "Ada@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	if rel.Identifier != "ada@example.com" || rel.Connection != "" || rel.UserID != "" || rel.Blocks != 1 {
		t.Errorf("UnblockIdentifier released %+v", rel)
	}
	got, err = svc.BlocksOfIdentifier(ctx, "ada@example.com")
	want("after UnblockIdentifier", got, err)
	_, err = svc.UnblockIdentifier(ctx, "")
	invalid(t, "UnblockIdentifier without one", err, CodeInvalidQuery)
}

// block makes a pair block of identifier on connection from ip, by a wrong
// guess at a live code under a pair threshold of 1.
func block(t *testing.T, st store.Store, connection, identifier, ip string) {
	t.Helper()
	ctx := context.Background()
	right, wrong := sha256.Sum256([]byte("right")), sha256.Sum256([]byte("wrong"))
	code := store.Code{ID: connection + "-" + identifier, Connection: connection, Identifier: identifier, CodeHMAC: right[:],
		ClientID: "app", Send: "code", CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxTries: 3}
	if _, err := st.CreateCode(ctx, code, nil, nil); err != nil {
		t.Fatal(err)
	}
	g := store.Guard{Protect: true, IP: ip, PairThreshold: 1, PairBlock: time.Hour,
		NewID: func() (string, error) { return connection + "-block", nil }}
	res, err := st.GuessCode(ctx, connection, identifier, [][]byte{wrong[:]}, now.Add(-time.Minute), true, g)
	if !errors.Is(err, store.ErrCodeWrong) || len(res.NewBlocks) != 1 {
		t.Fatalf("a wrong guess on %s: %+v, %v; want one block", connection, res, err)
	}
}
