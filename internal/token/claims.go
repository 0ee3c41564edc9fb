package token

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// AccessClaims are the claims of an access token Sesame issues.
type AccessClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience Audience `json:"aud"`
	IssuedAt int64    `json:"iat"`
	Expiry   int64    `json:"exp"`
	Scope    string   `json:"scope,omitempty"`
	AZP      string   `json:"azp,omitempty"`
	JTI      string   `json:"jti,omitempty"`
	// GrantType is Auth0's gty claim: "client-credentials" on a token a
	// client got for itself, absent on a user's.
	GrantType string `json:"gty,omitempty"`
}

// Audience is a JWT aud claim: one string or a list.
type Audience []string

// MarshalJSON writes a single audience as a plain string, as Auth0 does.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON accepts a string or a list of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// Contains reports whether aud names s.
func (a Audience) Contains(s string) bool { return slices.Contains(a, s) }

// VerifyAccessToken checks the signature and the time window of an access
// token we issued, that it was issued by issuer and is meant for audience.
func (k *Keys) VerifyAccessToken(ctx context.Context, raw, issuer, audience string, now time.Time) (AccessClaims, error) {
	payload, err := k.Verify(ctx, raw)
	if err != nil {
		return AccessClaims{}, err
	}
	var c AccessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return AccessClaims{}, ErrInvalidToken
	}
	if c.Issuer != issuer || !c.Audience.Contains(audience) || c.Subject == "" {
		return AccessClaims{}, ErrInvalidToken
	}
	// One minute of leeway for clocks of replicas that drift apart.
	if now.Unix() >= c.Expiry+60 || c.IssuedAt > now.Unix()+60 {
		return AccessClaims{}, ErrInvalidToken
	}
	return c, nil
}

// HasScope reports whether the space-separated scope list holds s.
func HasScope(scope, s string) bool {
	return slices.Contains(strings.Fields(scope), s)
}
