package delivery

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sesame-id/sesame/internal/tenant"
)

// gatewaySender calls a custom SMS gateway the way Auth0's legacy
// sms_gateway provider does (spec §5.5): POST gateway_url with
// {"recipient", "body", "sender"} and, with forward_req_info, "req": {"ip",
// "user-agent"}; optionally an HS256 bearer JWT. Only the status matters.
type gatewaySender struct {
	opts tenant.ConnectionOptions
	cfg  SMSConfig
	now  func() time.Time // nil: time.Now; tests pin it
}

type gatewayRequest struct {
	Recipient string          `json:"recipient"`
	Body      string          `json:"body"`
	Sender    string          `json:"sender,omitempty"` // absent, as Auth0's undefined, when from is empty
	Req       *gatewayReqInfo `json:"req,omitempty"`
}

type gatewayReqInfo struct {
	IP        string `json:"ip"`
	UserAgent string `json:"user-agent"`
}

// GatewayTokenLifetime is how long the JWT sent to a gateway is valid
// (exp - iat). Auth0 does not document it; the token only has to outlive
// one call (at most GatewayTimeout), plus room for clock skew between us
// and the gateway.
const GatewayTokenLifetime = 5 * time.Minute

func (s *gatewaySender) SendSMS(ctx context.Context, m SMS) error {
	u, err := url.Parse(s.opts.GatewayURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("delivery: sms: gateway_url must be an absolute http or https URL")
	}
	payload := gatewayRequest{Recipient: m.To, Body: m.Body, Sender: smsFrom(m, s.opts)}
	if s.opts.ForwardReqInfo {
		payload.Req = &gatewayReqInfo{IP: m.IP, UserAgent: m.UserAgent}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("delivery: sms: gateway: %w", err)
	}

	timeout := s.cfg.GatewayTimeout
	if d := s.opts.ProviderTimeout(); d > 0 {
		timeout = d
	}
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(callCtx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("delivery: sms: gateway: %w", cause(err))
	}
	req.Header.Set("Content-Type", "application/json")
	if ga := s.opts.GatewayAuthentication; ga != nil {
		now := time.Now
		if s.now != nil {
			now = s.now
		}
		token, err := gatewayToken(ga, now())
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}

	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil { // our caller gave up; not the gateway's doing
			return fmt.Errorf("delivery: sms: gateway: %w", ctx.Err())
		}
		if isTimeout(err) {
			// Auth0's text is "Timeout while calling the SMS gateway: <code>",
			// the code being Node's (its HTTP client runs on Node);
			// ETIMEDOUT is what Node reports for a request that got no
			// answer in time.
			return providerError(cause(err), "Timeout while calling the SMS gateway: ETIMEDOUT")
		}
		return providerError(cause(err), "Unexpected response while calling the SMS gateway: %s", shortReason(err))
	}
	// Drain a little so that the connection can be reused; the body itself
	// is ignored, as Auth0 ignores it.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProviderBody))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusUnauthorized:
		return providerError(nil, "Authentication failed while calling the SMS gateway: 401")
	default:
		return providerError(nil, "Unexpected response while calling the SMS gateway: %d", resp.StatusCode)
	}
}

// gatewayToken makes the bearer JWT of gateway_authentication: HS256 over
// {"sub": subject, "aud": audience, "iat", "exp"}. Auth0 documents only sub
// and aud; it names no issuer, so there is no iss.
//
// The JWT is signed by hand rather than with go-jose because go-jose refuses
// HMAC keys shorter than 256 bits, and Auth0 accepts (and its docs show)
// shorter secrets such as "MySecretToSignTheToken".
func gatewayToken(ga *tenant.GatewayAuthentication, now time.Time) (string, error) {
	key, err := gatewaySecret(ga)
	if err != nil {
		return "", err
	}
	header := []byte(`{"alg":"HS256","typ":"JWT"}`)
	claims, err := json.Marshal(struct {
		Sub string `json:"sub,omitempty"`
		Aud string `json:"aud,omitempty"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
	}{ga.Subject, ga.Audience, now.Unix(), now.Add(GatewayTokenLifetime).Unix()})
	if err != nil {
		return "", fmt.Errorf("delivery: sms: gateway token: %w", err)
	}
	enc := base64.RawURLEncoding
	signingInput := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signingInput))
	return signingInput + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// gatewaySecret returns the HMAC key: the secret's bytes, or, with
// secret_base64_encoded, the bytes it encodes. Auth0 says base64url; we
// accept standard base64 as well, padded or not, since secrets are often
// produced with `openssl rand -base64`.
func gatewaySecret(ga *tenant.GatewayAuthentication) ([]byte, error) {
	if ga.Secret == "" {
		return nil, errors.New("delivery: sms: gateway_authentication.secret is empty")
	}
	if !ga.SecretBase64Encoded {
		return []byte(ga.Secret), nil
	}
	s := strings.TrimRight(strings.TrimSpace(ga.Secret), "=")
	if strings.ContainsAny(s, "+/") {
		s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	}
	key, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(key) == 0 {
		return nil, errors.New("delivery: sms: gateway_authentication.secret is not valid base64 although secret_base64_encoded is true")
	}
	return key, nil
}
