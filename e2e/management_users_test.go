package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"

	"github.com/sesame-id/sesame/internal/passwordless"
)

// Users and user blocks through the unmodified go-auth0 management package,
// over TLS, and the logins they change.

// A client that may read, create and update users, but not delete them.
const (
	userAdminClientID = "userAdminClientID000000000000001"
	userAdminSecret   = "user-admin-secret-long-enough-for-a-test-00001"
)

func (e *env) addUserAdminClient() {
	e.t.Helper()
	e.importTenant(`
clients:
  - name: User Admin
    client_id: ` + userAdminClientID + `
    client_secret: ` + userAdminSecret + `
    app_type: non_interactive
    grant_types: [client_credentials]
clientGrants:
  - client_id: User Admin
    audience: "` + e.URL + `api/v2/"
    scope: ["read:users", "create:users", "update:users"]
`)
}

var emailUserIDRE = regexp.MustCompile(`^email\|[0-9a-f]{24}$`)

// loginAs logs email in with a fresh code through the web client and
// returns the user_id of the ID token, or the refusal.
func (e *env) loginAs(email string) (string, response) {
	e.t.Helper()
	r := e.otp(webClientID, email, e.startCode(webClientID, email), "openid")
	if r.Status != 200 {
		return "", r
	}
	sub, _ := jwtClaims(e.t, r.str("id_token"))["sub"].(string)
	return sub, r
}

func userIDs(us []*management.User) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.GetID())
	}
	return out
}

func TestManagementUsers_GoAuth0CreateFindPatchBlockDelete(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	ctx := context.Background()
	m := e.managementClient(m2mClientID, m2mSecret)

	u := &management.User{
		Connection:  auth0.String("email"),
		Email:       auth0.String("Dana@Example.COM"),
		GivenName:   auth0.String("Dana"),
		AppMetadata: &map[string]any{"plan": "free", "team": "a"},
	}
	if err := m.User.Create(ctx, u); err != nil {
		t.Fatalf("create: %v", err)
	}
	id := u.GetID()
	if !emailUserIDRE.MatchString(id) || u.GetEmail() != "dana@example.com" || u.GetEmailVerified() {
		t.Fatalf("created %s %s verified %v", id, u.GetEmail(), u.GetEmailVerified())
	}
	if ids := u.Identities; len(ids) != 1 || ids[0].GetConnection() != "email" || ids[0].GetProvider() != "email" || "email|"+ids[0].GetUserID() != id {
		t.Errorf("identities %+v", ids)
	}
	// A second user with the address, however it is spelt, is a 409.
	dup := &management.User{Connection: auth0.String("email"), Email: auth0.String("dana@example.com")}
	if err := m.User.Create(ctx, dup); statusOf(err) != http.StatusConflict || !strings.Contains(err.Error(), "The user already exists.") {
		t.Errorf("a second dana: %v", err)
	}

	// Found by email, by list with q, and read.
	byEmail, err := m.User.ListByEmail(ctx, "dana@example.com")
	if err != nil || !reflect.DeepEqual(userIDs(byEmail), []string{id}) {
		t.Fatalf("users-by-email: %v %v", userIDs(byEmail), err)
	}
	list, err := m.User.List(ctx, management.Query(`email:"dana@example.com"`), management.IncludeTotals(true))
	if err != nil || !reflect.DeepEqual(userIDs(list.Users), []string{id}) || list.Total != 1 {
		t.Fatalf("list q=email: %+v %v", list, err)
	}
	read, err := m.User.Read(ctx, id)
	if err != nil || read.GetEmail() != "dana@example.com" || read.GetGivenName() != "Dana" || (*read.AppMetadata)["plan"] != "free" {
		t.Fatalf("read: %+v %v", read, err)
	}
	fields, err := m.User.Read(ctx, id, management.IncludeFields("user_id", "email"))
	if err != nil || fields.GetEmail() != "dana@example.com" || fields.GivenName != nil || fields.Identities != nil {
		t.Errorf("read with fields: %+v %v", fields, err)
	}

	// app_metadata is merged: a property set to null goes, the others stay.
	patch := &management.User{AppMetadata: &map[string]any{"team": "b", "tier": 2, "plan": nil}}
	if err := m.User.Update(ctx, id, patch); err != nil {
		t.Fatalf("patch app_metadata: %v", err)
	}
	read, err = m.User.Read(ctx, id)
	if want := (map[string]any{"team": "b", "tier": float64(2)}); err != nil || !reflect.DeepEqual(*read.AppMetadata, want) {
		t.Fatalf("app_metadata after the patch: %v %v, want %v", read.AppMetadata, err, want)
	}

	// The user made by the API is the one a login finds.
	if sub, r := e.loginAs("DANA@example.com"); sub != id {
		t.Fatalf("login: %q %d %s", sub, r.Status, r.Body)
	}

	// Blocked by the API: the OTP grant is refused, until unblocked.
	if err := m.User.Update(ctx, id, &management.User{Blocked: auth0.Bool(true)}); err != nil {
		t.Fatalf("block: %v", err)
	}
	if read, err := m.User.Read(ctx, id); err != nil || !read.GetBlocked() {
		t.Fatalf("blocked not read back: %v", err)
	}
	_, r := e.loginAs("dana@example.com")
	wantError(t, r, http.StatusUnauthorized, "unauthorized", "user is blocked")
	if err := m.User.Update(ctx, id, &management.User{Blocked: auth0.Bool(false)}); err != nil {
		t.Fatalf("unblock: %v", err)
	}
	if sub, r := e.loginAs("dana@example.com"); sub != id {
		t.Fatalf("login after the unblock: %q %d %s", sub, r.Status, r.Body)
	}
	if read, err := m.User.Read(ctx, id); err != nil || read.GetLoginsCount() != 2 || read.GetEmailVerified() != true {
		t.Errorf("after two logins: %+v %v", read, err)
	}

	// Deleted: gone, and deleting again is no error (Auth0 answers 204).
	if err := m.User.Delete(ctx, id); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := m.User.Read(ctx, id); statusOf(err) != http.StatusNotFound || !strings.Contains(err.Error(), "The user does not exist.") {
		t.Fatalf("read after delete: %v", err)
	}
	if err := m.User.Delete(ctx, id); err != nil {
		t.Errorf("delete again: %v", err)
	}
	if byEmail, err := m.User.ListByEmail(ctx, "dana@example.com"); err != nil || len(byEmail) != 0 {
		t.Errorf("users-by-email after delete: %v %v", userIDs(byEmail), err)
	}
	// A login makes a new user with a new id.
	if sub, r := e.loginAs("dana@example.com"); sub == "" || sub == id {
		t.Errorf("login after delete: %q %d %s", sub, r.Status, r.Body)
	}
}

// blockByWrongCodes sends wrong codes for email from this machine through
// /oauth/token, with a new code each MaxTries, until brute-force
// protection blocks the pair; it fails the test if no block comes.
func (e *env) blockByWrongCodes(email string) {
	e.t.Helper()
	var code string
	for i := range 30 {
		if i%passwordless.MaxTries == 0 {
			code = e.startCode(nativeClientID, email)
		}
		r := e.guess("email", email, wrongCode(code))
		if r.Status == http.StatusTooManyRequests && r.str("error") == "too_many_attempts" {
			// The right code is refused too.
			wantError(e.t, e.guess("email", email, e.startCode(nativeClientID, email)), http.StatusTooManyRequests, "too_many_attempts", passwordless.DescBlocked)
			return
		}
		wantError(e.t, r, http.StatusForbidden, "invalid_grant", descWrongEmail)
	}
	e.t.Fatalf("30 wrong codes for %s and no block", email)
}

func TestManagementUsers_BruteForceBlocksReadAndLiftedThroughTheAPI(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	ctx := context.Background()
	m := e.managementClient(m2mClientID, m2mSecret)
	u := &management.User{Connection: auth0.String("email"), Email: auth0.String("erin@example.com")}
	if err := m.User.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	id := u.GetID()
	wantBlocks := func(what string, got []*management.UserBlock, err error, want ...string) {
		t.Helper()
		var ids []string
		for _, b := range got {
			ids = append(ids, b.GetIdentifier()+" "+b.GetIP())
		}
		if err != nil || !reflect.DeepEqual(ids, want) {
			t.Fatalf("%s: %q %v, want %q", what, ids, err, want)
		}
	}
	bs, err := m.User.BlocksByIdentifier(ctx, "erin@example.com")
	wantBlocks("before any failure", bs, err)

	e.blockByWrongCodes("erin@example.com")
	bs, err = m.User.BlocksByIdentifier(ctx, "Erin@Example.com")
	wantBlocks("by identifier", bs, err, "erin@example.com 127.0.0.1")
	bs, err = m.User.Blocks(ctx, id)
	wantBlocks("by user id", bs, err, "erin@example.com 127.0.0.1")
	raw := e.mgmt("GET", "user-blocks?identifier="+url.QueryEscape("erin@example.com"), e.managementToken(m2mClientID, m2mSecret), nil)
	if raw.Status != 200 || !strings.Contains(string(raw.Body), `"connection":"email"`) {
		t.Errorf("raw blocks: %d %s", raw.Status, raw.Body)
	}
	if _, err := m.User.Blocks(ctx, "email|000000000000000000000000"); statusOf(err) != http.StatusNotFound {
		t.Errorf("blocks of an unknown user: %v", err)
	}
	if err := m.User.Unblock(ctx, "email|000000000000000000000000"); statusOf(err) != http.StatusNotFound {
		t.Errorf("unblock an unknown user: %v", err)
	}

	// Lifted by user id: recorded, and the user logs in.
	if err := m.User.Unblock(ctx, id); err != nil {
		t.Fatalf("unblock by id: %v", err)
	}
	bs, err = m.User.Blocks(ctx, id)
	wantBlocks("after the unblock", bs, err)
	ev := e.events("ublkdu")
	if len(ev) != 1 || ev[0].ClientID != m2mClientID || ev[0].ClientName != "Automation" || ev[0].IP != "127.0.0.1" ||
		ev[0].Identifier != "erin@example.com" || ev[0].UserID != id || ev[0].Connection != "email" ||
		!strings.HasPrefix(ev[0].UserAgent, "Go-Auth0") || !strings.Contains(string(ev[0].Details), "DELETE /api/v2/user-blocks/{id}") {
		t.Fatalf("ublkdu events: %+v", ev)
	}
	if sub, r := e.loginAs("erin@example.com"); sub != id {
		t.Fatalf("login after the unblock: %q %d %s", sub, r.Status, r.Body)
	}

	// Blocked again, lifted by identifier in another spelling.
	e.blockByWrongCodes("erin@example.com")
	if err := m.User.UnblockByIdentifier(ctx, " ERIN@example.com"); err != nil {
		t.Fatalf("unblock by identifier: %v", err)
	}
	bs, err = m.User.BlocksByIdentifier(ctx, "erin@example.com")
	wantBlocks("after the unblock by identifier", bs, err)
	ev = e.events("ublkdu")
	if len(ev) != 2 {
		t.Fatalf("ublkdu events: %+v", ev)
	}
	byIdentifier := ev[0]
	if byIdentifier.UserID != "" {
		byIdentifier = ev[1]
	}
	if byIdentifier.UserID != "" || byIdentifier.Connection != "" || byIdentifier.Identifier != "erin@example.com" ||
		byIdentifier.ClientID != m2mClientID || !strings.Contains(string(byIdentifier.Details), `"DELETE /api/v2/user-blocks"`) {
		t.Errorf("the ublkdu of the unblock by identifier: %+v", byIdentifier)
	}
	if sub, r := e.loginAs("erin@example.com"); sub != id {
		t.Fatalf("login after the unblock by identifier: %q %d %s", sub, r.Status, r.Body)
	}
	// Nothing to lift: no error, nothing recorded.
	if err := m.User.UnblockByIdentifier(ctx, "erin@example.com"); err != nil {
		t.Fatal(err)
	}
	if ev := e.events("ublkdu"); len(ev) != 2 {
		t.Errorf("an unblock that lifted nothing was recorded: %+v", ev)
	}
}

func TestManagementUsers_ScopesAreEnforced(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	e.addUserAdminClient()
	ctx := context.Background()
	admin := e.managementClient(userAdminClientID, userAdminSecret)
	u := &management.User{Connection: auth0.String("email"), Email: auth0.String("fay@example.com")}
	if err := admin.User.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	err := admin.User.Delete(ctx, u.GetID())
	if statusOf(err) != http.StatusForbidden || !strings.Contains(err.Error(), "Insufficient scope, expected any of: delete:users") {
		t.Fatalf("delete without delete:users: %v", err)
	}
	tok := e.managementToken(userAdminClientID, userAdminSecret)
	wantManagementError(t, e.mgmt("DELETE", "users/"+url.PathEscape(u.GetID()), tok, nil), 403, "insufficient_scope",
		"Insufficient scope, expected any of: delete:users")
	if _, err := admin.User.Read(ctx, u.GetID()); err != nil {
		t.Fatalf("the user is still there: %v", err)
	}
	// update:users lifts blocks; read:clients alone reads no user.
	if err := admin.User.UnblockByIdentifier(ctx, "fay@example.com"); err != nil {
		t.Errorf("unblock with update:users: %v", err)
	}
	readerTok := e.managementToken(readerClientID, readerSecret)
	for _, c := range []struct{ method, path, scope string }{
		{"GET", "users", "read:users"},
		{"GET", "users/" + url.PathEscape(u.GetID()), "read:users"},
		{"GET", "users-by-email?email=fay@example.com", "read:users"},
		{"POST", "users", "create:users"},
		{"PATCH", "users/" + url.PathEscape(u.GetID()), "update:users"},
		{"GET", "user-blocks?identifier=fay@example.com", "read:users"},
		{"DELETE", "user-blocks?identifier=fay@example.com", "update:users"},
		{"GET", "user-blocks/" + url.PathEscape(u.GetID()), "read:users"},
		{"DELETE", "user-blocks/" + url.PathEscape(u.GetID()), "update:users"},
	} {
		var body []byte
		if c.method == "POST" || c.method == "PATCH" {
			body = []byte(`{}`)
		}
		wantManagementError(t, e.mgmt(c.method, c.path, readerTok, body), 403, "insufficient_scope",
			"Insufficient scope, expected any of: "+c.scope)
	}
}

func TestManagementUsers_BadInputIsA4xxInTheManagementShape(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	tok := e.managementToken(m2mClientID, m2mSecret)
	for _, email := range []string{"gus@example.com", "hal@example.com"} {
		if r := e.mgmt("POST", "users", tok, []byte(`{"connection":"email","email":"`+email+`"}`)); r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
	}
	gus := e.mgmt("GET", "users-by-email?email=gus@example.com", tok, nil)
	var list []map[string]any
	if err := json.Unmarshal(gus.Body, &list); err != nil || len(list) != 1 {
		t.Fatalf("users-by-email: %d %s", gus.Status, gus.Body)
	}
	gusPath := "users/" + url.PathEscape(list[0]["user_id"].(string))
	for _, tc := range []struct {
		name, method, path string
		body               string
		status             int
		errorCode          string
	}{
		{"no connection", "POST", "users", `{"email":"a@example.com"}`, 400, "invalid_body"},
		{"unknown connection", "POST", "users", `{"connection":"nope","email":"a@example.com"}`, 400, "inexistent_connection"},
		{"email of the wrong type", "POST", "users", `{"connection":"email","email":5}`, 400, "invalid_body"},
		{"blocked of the wrong type", "POST", "users", `{"connection":"email","email":"a@example.com","blocked":"yes"}`, 400, "invalid_body"},
		{"metadata not an object", "POST", "users", `{"connection":"email","email":"a@example.com","app_metadata":"x"}`, 400, "invalid_body"},
		{"metadata with a dotted key", "PATCH", gusPath, `{"user_metadata":{"a.b":1}}`, 400, "invalid_body"},
		{"a password", "POST", "users", `{"connection":"email","email":"a@example.com","password":"hunter2"}`, 400, "invalid_body"},
		{"verify_email", "POST", "users", `{"connection":"email","email":"a@example.com","verify_email":true}`, 400, "invalid_body"},
		{"not an address", "POST", "users", `{"connection":"email","email":"not an address"}`, 400, "invalid_body"},
		{"no phone on sms", "POST", "users", `{"connection":"sms","email":"a@example.com"}`, 400, "invalid_body"},
		{"a look-alike @", "POST", "users", `{"connection":"email","email":"a＠example.com"}`, 400, "invalid_body"},
		{"a name with a NUL", "PATCH", gusPath, `{"name":"a\u0000b"}`, 400, "invalid_body"},
		{"a javascript: picture", "PATCH", gusPath, `{"picture":"javascript:alert(1)"}`, 400, "invalid_body"},
		{"the email removed", "PATCH", gusPath, `{"email":""}`, 400, "invalid_body"},
		{"another connection", "PATCH", gusPath, `{"connection":"sms"}`, 400, "invalid_body"},
		{"malformed JSON", "PATCH", gusPath, `{"name":`, 400, ""},
		{"patch an unknown user", "PATCH", "users/email%7C000000000000000000000000", `{"name":"x"}`, 404, "inexistent_user"},
		{"read an unknown user", "GET", "users/email%7C000000000000000000000000", "", 404, "inexistent_user"},
		{"a very long id", "GET", "users/" + strings.Repeat("a", 2000), "", 404, "inexistent_user"},
		{"q on another field", "GET", "users?q=" + url.QueryEscape(`name:"gus"`), "", 400, "invalid_query_string"},
		{"q with a wildcard", "GET", "users?q=" + url.QueryEscape(`email:gus*`), "", 400, "invalid_query_string"},
		{"q with two clauses", "GET", "users?q=" + url.QueryEscape(`email:"a@example.com" OR email:"b@example.com"`), "", 400, "invalid_query_string"},
		{"q without a field", "GET", "users?q=gus", "", 400, "invalid_query_string"},
		{"search_engine v1", "GET", "users?search_engine=v1", "", 400, "invalid_query_string"},
		{"an unknown search_engine", "GET", "users?search_engine=v9", "", 400, "invalid_query_string"},
		{"a bad sort", "GET", "users?sort=email:1", "", 400, "invalid_query_string"},
		{"a bad sort direction", "GET", "users?sort=created_at:up", "", 400, "invalid_query_string"},
		{"a page that is no number", "GET", "users?page=first", "", 400, "invalid_query_string"},
		{"per_page over 100", "GET", "users?per_page=1000", "", 400, "invalid_query_string"},
		{"include_totals not a boolean", "GET", "users?include_totals=yes", "", 400, "invalid_query_string"},
		{"list an unknown connection", "GET", "users?connection=nope", "", 400, "inexistent_connection"},
		{"q on an unknown connection", "GET", "users?q=" + url.QueryEscape(`identities.connection:"nope"`), "", 400, "inexistent_connection"},
		{"two different connections", "GET", "users?connection=email&q=" + url.QueryEscape(`identities.connection:"sms"`), "", 400, "invalid_query_string"},
		{"another user's address", "PATCH", gusPath, `{"email":"HAL@example.com"}`, 409, "auth0_idp_error"},
		{"users-by-email without email", "GET", "users-by-email", "", 400, "invalid_query_string"},
		{"users-by-email not an address", "GET", "users-by-email?email=nope", "", 400, "invalid_query_string"},
		{"user-blocks without identifier", "GET", "user-blocks", "", 400, "invalid_query_string"},
		{"unblock without identifier", "DELETE", "user-blocks", "", 400, "invalid_query_string"},
		{"blocks of an unknown user", "GET", "user-blocks/email%7Cnobody", "", 404, "inexistent_user"},
		{"consider_brute_force_enablement not a boolean", "GET", "user-blocks?identifier=a@example.com&consider_brute_force_enablement=1", "", 400, "invalid_query_string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.method == "POST" || tc.method == "PATCH" {
				body = []byte(tc.body)
			}
			wantManagementError(t, e.mgmt(tc.method, tc.path, tok, body), tc.status, tc.errorCode, "")
		})
	}
	// Nothing of the refused writes was stored.
	all := e.mgmt("GET", "users?include_totals=true", tok, nil)
	if all.Status != 200 || all.JSON["total"] != float64(2) {
		t.Errorf("users after the refusals: %d %s", all.Status, all.Body)
	}
	g := e.mgmt("GET", gusPath, tok, nil)
	if g.Status != 200 || g.str("email") != "gus@example.com" || g.JSON["user_metadata"] != nil || g.str("name") != "gus@example.com" {
		t.Errorf("gus after the refusals: %d %s", g.Status, g.Body)
	}
}

func TestManagementUsers_ListPagesSortsAndFilters(t *testing.T) {
	// On a clock of its own, so that the users are created a second
	// apart and their order is known.
	e := newManagementEnv(t, envOptions{clock: true})
	tok := e.managementToken(m2mClientID, m2mSecret)
	var ids []string
	for _, b := range []string{
		`{"connection":"email","email":"p1@example.com"}`,
		`{"connection":"sms","phone_number":"+14155552671"}`,
		`{"connection":"email","email":"p3@example.com"}`,
	} {
		r := e.mgmt("POST", "users", tok, []byte(b))
		if r.Status != 201 {
			t.Fatalf("create %s: %d %s", b, r.Status, r.Body)
		}
		ids = append(ids, r.str("user_id"))
		e.Clock.Advance(time.Second)
	}
	got := func(path string) (ids []string, total any) {
		t.Helper()
		r := e.mgmt("GET", path, tok, nil)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
		var items []any
		if r.JSON != nil {
			items, _ = r.JSON["users"].([]any)
			total = r.JSON["total"]
		} else if err := json.Unmarshal(r.Body, &items); err != nil {
			t.Fatalf("%s: %s", path, r.Body)
		}
		for _, it := range items {
			ids = append(ids, it.(map[string]any)["user_id"].(string))
		}
		return ids, total
	}
	for _, c := range []struct {
		path  string
		want  []string
		total any
	}{
		{"users", ids, nil},
		{"users?sort=created_at:-1&search_engine=v3", []string{ids[2], ids[1], ids[0]}, nil},
		{"users?per_page=1&page=1&include_totals=true", ids[1:2], float64(3)},
		{"users?connection=email&include_totals=true", []string{ids[0], ids[2]}, float64(2)},
		{"users?connection=sms", ids[1:2], nil},
		{"users?q=" + url.QueryEscape(`phone_number:"+14155552671"`) + "&search_engine=v2", ids[1:2], nil},
		// A login refuses a number with spaces (as Auth0 does): no user.
		{"users?q=" + url.QueryEscape(`phone_number:"+1 415 555 2671"`), nil, nil},
		{"users?q=" + url.QueryEscape(`user_id:"`+ids[2]+`"`), ids[2:3], nil},
		{"users?q=" + url.QueryEscape(`identities.connection:"sms"`) + "&search_engine=v3", ids[1:2], nil},
		{"users?q=" + url.QueryEscape(`email:"p1@example.com"`) + "&connection=sms", nil, nil},
	} {
		ids, total := got(c.path)
		if !reflect.DeepEqual(ids, c.want) || total != c.total {
			t.Errorf("%s = %q (total %v), want %q (total %v)", c.path, ids, total, c.want, c.total)
		}
	}
	// fields and include_fields.
	r := e.mgmt("GET", "users?fields=user_id,email&connection=email", tok, nil)
	var items []map[string]any
	if err := json.Unmarshal(r.Body, &items); err != nil || len(items) != 2 || len(items[0]) != 2 || items[0]["email"] != "p1@example.com" {
		t.Errorf("fields: %s", r.Body)
	}
	r = e.mgmt("GET", "users-by-email?email=p1@example.com&fields=identities&include_fields=false", tok, nil)
	if err := json.Unmarshal(r.Body, &items); err != nil || len(items) != 1 || items[0]["identities"] != nil || items[0]["user_id"] != ids[0] {
		t.Errorf("include_fields=false: %s", r.Body)
	}
}

// TestManagementUsers_LookAlikeEmailsFindWhatALoginFinds: users-by-email
// and q=email:"…" canonicalise an address as a login does, so a spelling
// that logs into an account finds it, and a look-alike that is another
// account (or no address at all) never finds it.
func TestManagementUsers_LookAlikeEmailsFindWhatALoginFinds(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	ctx := context.Background()
	m := e.managementClient(m2mClientID, m2mSecret)
	latin := &management.User{Connection: auth0.String("email"), Email: auth0.String("ace@example.com")}
	if err := m.User.Create(ctx, latin); err != nil {
		t.Fatal(err)
	}
	// "асе" in Cyrillic: one script, a valid address, another account.
	cyrillic := &management.User{Connection: auth0.String("email"), Email: auth0.String("\u0430\u0441\u0435@example.com")}
	if err := m.User.Create(ctx, cyrillic); err != nil {
		t.Fatalf("the Cyrillic look-alike: %v", err)
	}
	if cyrillic.GetID() == latin.GetID() || cyrillic.GetEmail() != "\u0430\u0441\u0435@example.com" {
		t.Fatalf("the look-alike: %s %s", cyrillic.GetID(), cyrillic.GetEmail())
	}
	find := func(email string) ([]string, error) {
		byEmail, err := m.User.ListByEmail(ctx, email)
		if err != nil {
			return nil, err
		}
		list, err := m.User.List(ctx, management.Query(`email:"`+email+`"`))
		if err != nil {
			t.Fatalf("q=email:%q: %v", email, err)
		}
		if a, b := userIDs(byEmail), userIDs(list.Users); !reflect.DeepEqual(a, b) {
			t.Errorf("%q: users-by-email %q, q %q", email, a, b)
		}
		return userIDs(byEmail), nil
	}
	for _, c := range []struct {
		email string
		want  string // "" for no user
		valid bool
	}{
		{"ace@example.com", latin.GetID(), true},
		{"ACE@Example.COM", latin.GetID(), true},
		{" ace@EXAMPLE.com ", latin.GetID(), true},
		{"\u0430\u0441\u0435@example.com", cyrillic.GetID(), true},
		{"\u0410\u0421\u0415@example.com", "", false}, // upper-case Cyrillic is refused by logins
		{"\u0430ce@example.com", "", false},           // mixed scripts
		{"\uff41ce@example.com", "", false},           // fullwidth a
		{"ace@examp\u200ble.com", "", false},          // zero-width space
		{"ace@xn--exmple-cua.com", "", true},          // another domain (exämple.com)
		{"ace@ex\u00e4mple.com", "", true},            // the same one as a U-label
	} {
		ids, err := find(c.email)
		switch {
		case !c.valid:
			if statusOf(err) != http.StatusBadRequest {
				t.Errorf("%q: %q %v, want a 400", c.email, ids, err)
			}
			// A login refuses it as well.
			r := e.postJSON("/passwordless/start", map[string]any{"client_id": nativeClientID, "connection": "email", "email": c.email, "send": "code"})
			if r.Status != http.StatusBadRequest {
				t.Errorf("start with %q: %d %s", c.email, r.Status, r.Body)
			}
		case err != nil:
			t.Errorf("%q: %v", c.email, err)
		case c.want == "" && len(ids) != 0, c.want != "" && !reflect.DeepEqual(ids, []string{c.want}):
			t.Errorf("%q found %q, want %q", c.email, ids, c.want)
		}
	}
	// The spellings that found an account log into it, and the look-alike
	// into its own.
	for _, c := range []struct{ spelling, want string }{
		{"ACE@Example.COM", latin.GetID()},
		{" ace@EXAMPLE.com ", latin.GetID()},
		{"\u0430\u0441\u0435@example.com", cyrillic.GetID()},
	} {
		if sub, r := e.loginAs(c.spelling); sub != c.want {
			t.Errorf("login as %q: %q %d %s, want %s", c.spelling, sub, r.Status, r.Body, c.want)
		}
	}
}
