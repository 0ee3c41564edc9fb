package users

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/store"
)

// TestRender_MatchesAuth0sUserObjects renders the users of spec §8 (an
// email user and an sms user after their logins) and a user an operator
// created with every field, and compares them with the JSON in
// testdata/render: the same fields, the same values, nothing more.
func TestRender_MatchesAuth0sUserObjects(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for file, u := range map[string]store.User{
		"email-user.json": {
			UserID: "email|5ed9465f580a1d9af47e7ffa", Connection: "email", Strategy: "email",
			Identifier: "test-user@example.com", Email: "test-user@example.com", EmailVerified: true,
			Name: "test-user@example.com", Nickname: "test-user", Picture: passwordless.Gravatar("test-user@example.com"),
			CreatedAt: at("2020-06-04T19:12:31.412Z"), UpdatedAt: at("2020-06-04T19:15:02.058Z"),
			LastLogin: at("2020-06-04T19:15:02.058Z"), LastIP: "203.0.113.7", LoginsCount: 2,
		},
		"sms-user.json": {
			UserID: "sms|560ebaeef609ee1adaa7c551", Connection: "sms", Strategy: "sms",
			Identifier: "+14155552671", PhoneNumber: "+14155552671", PhoneVerified: true,
			Name: "+14155552671", Nickname: "+14155552671",
			CreatedAt: at("2015-10-02T21:12:14Z"), UpdatedAt: at("2015-10-02T21:12:14Z"),
			LastLogin: at("2015-10-02T21:12:14Z"), LastIP: "198.51.100.23", LoginsCount: 1,
		},
		"created-user.json": {
			UserID: "email|0123456789abcdef01234567", Connection: "Username-Passwordless", Strategy: "email",
			Identifier: "ada@example.com", Email: "ada@example.com", PhoneNumber: "+442071838750",
			Name: "Ada Lovelace", Nickname: "ada", Picture: "https://example.com/ada.png",
			GivenName: "Ada", FamilyName: "Lovelace",
			UserMetadata: []byte(`{"theme":"dark"}`), AppMetadata: []byte(`{"plan":"full","roles":["admin"]}`),
			Blocked: true,
			// In another zone and finer than a millisecond: written in UTC, to the millisecond.
			CreatedAt: at("2026-12-01T11:00:00.000999+01:00"), UpdatedAt: at("2026-12-01T10:30:00.5Z"),
		},
	} {
		got, err := json.Marshal(Render(u))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", "render", file))
		if err != nil {
			t.Fatal(err)
		}
		var g, w map[string]any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatalf("testdata/render/%s: %v", file, err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("Render for %s:\n%s\nwant\n%s", file, got, want)
		}
	}
}

func TestRenderAll_IsAnEmptyListForNoUsers(t *testing.T) {
	b, err := json.Marshal(RenderAll(nil))
	if err != nil || string(b) != "[]" {
		t.Errorf("RenderAll(nil) = %s, %v; want []", b, err)
	}
}

func TestRenderBlocks_ListsEachBlockOnce(t *testing.T) {
	blocks := []store.Block{
		{ID: "1", Connection: "email", Identifier: "a@example.com", IP: "192.0.2.1"},
		{ID: "2", Connection: "email", Identifier: "a@example.com"},
		{ID: "3", Connection: "email", Identifier: "a@example.com", IP: "192.0.2.1"}, // a second block of one pair
		{ID: "4", Connection: "email-2", Identifier: "a@example.com", IP: "192.0.2.1"},
	}
	b, err := json.Marshal(RenderBlocks(blocks))
	want := `{"blocked_for":[` +
		`{"identifier":"a@example.com","ip":"192.0.2.1","connection":"email"},` +
		`{"identifier":"a@example.com","connection":"email"},` +
		`{"identifier":"a@example.com","ip":"192.0.2.1","connection":"email-2"}]}`
	if err != nil || string(b) != want {
		t.Errorf("RenderBlocks = %s, %v\nwant %s", b, err, want)
	}
	if b, _ := json.Marshal(RenderBlocks(nil)); string(b) != `{"blocked_for":[]}` {
		t.Errorf("RenderBlocks(nil) = %s", b)
	}
}

// What an operator types to `sesame blocks clear` or the user-blocks
// endpoints must name what the server stored: an IPv6 caller is counted and
// blocked by its /64.
func TestNormalizeIdentifier_MatchesHowBlocksAreKeyed(t *testing.T) {
	for in, want := range map[string]string{
		"2001:db8:1:2::1":        "2001:db8:1:2::/64",
		" 2001:db8:1:2:ffff::9 ": "2001:db8:1:2::/64",
		"fe80::1%eth0":           "fe80::/64",
		"192.0.2.1":              "192.0.2.1",
		"::ffff:192.0.2.1":       "192.0.2.1",
		"2001:db8:1:2::/64":      "2001:db8:1:2::/64",
		"Alice@Example.com":      "alice@example.com",
		"+1 (415) 555-2671":      "+14155552671",
	} {
		if got := NormalizeIdentifier(in); got != want {
			t.Errorf("NormalizeIdentifier(%q) = %q, want %q", in, got, want)
		}
	}
}
