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
