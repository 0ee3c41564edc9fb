package oauth

import (
	"errors"
	"net/url"

	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// ErrLinkAltered refuses a magic link whose authorization parameters are not
// the ones its code was sent with.
var ErrLinkAltered = errors.New("magic link parameters differ from the ones stored with its code")

// BindLink is the store's Accept for the code verify_redirect presents. For
// a code sent as a magic link, the authorization request is the one stored
// with the code at /passwordless/start, and a request whose parameters
// differ from it in any way (a switched code_challenge_method or
// redirect_uri, an added or dropped parameter) is refused before the code
// is consumed. A code sent as a code has no link: auth0.js's
// passwordlessVerify builds this URL from the application's own settings
// after the user typed the code, so the request's parameters (ar) are the
// authorization request. Either is checked against the tenant as it is now
// and written to *bound.
func (s *Server) BindLink(t *tenant.Tenant, client *tenant.Client, q url.Values, ar AuthRequest, bound *AuthRequest) func(store.Code) error {
	return func(c store.Code) error {
		stored, err := passwordless.LinkParams(c)
		if errors.Is(err, passwordless.ErrNotALink) {
			if err := s.ValidateAuthRequest(t, client, &ar); err != nil {
				return err
			}
			*bound = ar
			return nil
		}
		if err != nil {
			return err
		}
		for _, k := range AuthRequestParams {
			if q.Get(k) != stored.Get(k) {
				return ErrLinkAltered
			}
		}
		ar := AuthRequestFromValues(stored)
		if err := s.ValidateAuthRequest(t, client, &ar); err != nil {
			return err
		}
		*bound = ar
		return nil
	}
}
