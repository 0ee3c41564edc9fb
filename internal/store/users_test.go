package store

import (
	"errors"
	"testing"
	"time"
)

func TestMergeMetadata_FollowsAuth0sPatchRules(t *testing.T) {
	stored := `{"hobby":"surfing","addresses":{"home":"1 Main St"},"color":"blue"}`
	for _, tc := range []struct {
		name          string
		stored, patch []byte
		want          string // "" for nil
	}{
		{"no patch keeps what is stored", []byte(stored), nil, stored},
		{"a new top-level property is added",
			[]byte(stored), []byte(`{"plan":"full"}`),
			`{"addresses":{"home":"1 Main St"},"color":"blue","hobby":"surfing","plan":"full"}`},
		{"a nested object is replaced whole, not merged",
			[]byte(stored), []byte(`{"addresses":{"work":"2 Side St"}}`),
			`{"addresses":{"work":"2 Side St"},"color":"blue","hobby":"surfing"}`},
		{"null removes a property",
			[]byte(stored), []byte(`{"color":null}`),
			`{"addresses":{"home":"1 Main St"},"hobby":"surfing"}`},
		{"null for a property that is not there is no change",
			[]byte(`{"a":1}`), []byte(`{"b":null}`), `{"a":1}`},
		{"the empty object removes the metadata", []byte(stored), []byte(`{}`), ""},
		{"null removes the metadata", []byte(stored), []byte(`null`), ""},
		{"removing the last property leaves none", []byte(`{"a":1}`), []byte(`{"a":null}`), ""},
		{"nothing stored", nil, []byte(` {"b": [1, 2], "a": {"x": null}} `), `{"a":{"x":null},"b":[1,2]}`},
		{"a nested null is kept: only the top level is merged", nil, []byte(`{"a":{"x":null}}`), `{"a":{"x":null}}`},
		{"a patch of only nulls on nothing", nil, []byte(`{"a":null}`), ""},
		{"the last of duplicate keys wins", nil, []byte(`{"a":1,"a":2}`), `{"a":2}`},
	} {
		got, err := MergeMetadata(tc.stored, tc.patch)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if tc.want == "" {
			if got != nil {
				t.Errorf("%s: got %s, want none (nil)", tc.name, got)
			}
			continue
		}
		if string(got) != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestMergeMetadata_RefusesWhatIsNotAnObject(t *testing.T) {
	for _, patch := range []string{`[]`, `"x"`, `1`, `true`, ``, `   `, `{`, `{"a":1} {}`, `{"a":}`} {
		if got, err := MergeMetadata([]byte(`{"a":1}`), []byte(patch)); err == nil {
			t.Errorf("MergeMetadata(patch %q) = %s, want an error", patch, got)
		}
	}
	if _, err := MergeMetadata([]byte(`[1]`), []byte(`{"a":1}`)); err == nil {
		t.Errorf("a stored value that is no object was merged into")
	}
}

func TestAllowLogin_RefusesOnlyBlockedUsers(t *testing.T) {
	if err := AllowLogin(User{UserID: "email|1"}); err != nil {
		t.Errorf("AllowLogin(a user) = %v", err)
	}
	if err := AllowLogin(User{UserID: "email|1", Blocked: true}); !errors.Is(err, ErrUserBlocked) {
		t.Errorf("AllowLogin(a blocked user) = %v, want ErrUserBlocked", err)
	}
}

func TestCheckUserUpdate_KeepsWhatNoUpdateChanges(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	old := User{UserID: "email|1", Connection: "email", Strategy: "email", Identifier: "a@example.com", CreatedAt: t0}
	ok := old
	ok.Identifier, ok.Email, ok.Name, ok.Blocked, ok.UpdatedAt = "b@example.com", "b@example.com", "B", true, t0.Add(time.Hour)
	if err := CheckUserUpdate(old, ok); err != nil {
		t.Errorf("a change of the profile was refused: %v", err)
	}
	for name, change := range map[string]func(*User){
		"user_id":    func(u *User) { u.UserID = "email|2" },
		"connection": func(u *User) { u.Connection = "other" },
		"strategy":   func(u *User) { u.Strategy = "sms" },
		"created_at": func(u *User) { u.CreatedAt = t0.Add(time.Millisecond) },
		"identifier": func(u *User) { u.Identifier = "" },
	} {
		next := old
		change(&next)
		if err := CheckUserUpdate(old, next); !errors.Is(err, ErrUserChange) {
			t.Errorf("a change of %s: %v, want ErrUserChange", name, err)
		}
	}
}
