package management

import (
	"errors"
	"net/http"
	"testing"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/users"
)

func TestUserError(t *testing.T) {
	other := errors.New("database on fire")
	for _, c := range []struct {
		in     error
		status int
		code   string
	}{
		{users.ErrUserNotFound, http.StatusNotFound, "inexistent_user"},
		{users.ErrUserExists, http.StatusConflict, "auth0_idp_error"},
		{&users.Error{Kind: fault.Invalid, Code: users.CodeInvalidQuery, Message: "m"}, http.StatusBadRequest, users.CodeInvalidQuery},
		{&users.Error{Kind: fault.Invalid, Code: users.CodeNotSupported, Message: "m"}, http.StatusBadRequest, users.CodeNotSupported},
	} {
		var e *Error
		if !errors.As(userError(c.in), &e) || e.Status != c.status || e.Code != c.code {
			t.Errorf("userError(%v) = %+v, want %d %s", c.in, e, c.status, c.code)
		}
	}
	if got := userError(other); got != other {
		t.Errorf("userError passed %v on as %v", other, got)
	}
}

func TestTruncateUTF8(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"ab\u00e9", 3, "ab"}, // é is two bytes: not cut in half
		{"\u4e16\u754c", 4, "\u4e16"},
	} {
		if got := truncateUTF8(c.in, c.n); got != c.want {
			t.Errorf("truncateUTF8(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
