package delivery

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sesame-id/sesame/internal/tenant"
)

const (
	gatewaySubject  = "urn:Auth0"
	gatewayAudience = "urn:MySmsGateway"
)

// fakeGateway is a custom SMS gateway as Auth0's docs describe one: it
// takes POST JSON {recipient, body, sender[, req]} and, when it has a key,
// insists on an HS256 bearer JWT for its subject and audience, answering 401
// otherwise.
type fakeGateway struct {
	*httptest.Server
	t *testing.T

	key    []byte // HMAC key; nil: no authentication
	status int    // answer once the request is accepted; 0: 200
	delay  time.Duration

	release chan struct{} // closed at cleanup, so a delayed handler ends

	mu       sync.Mutex
	received []receivedGatewayCall
}

type receivedGatewayCall struct {
	body   map[string]any
	token  string
	claims map[string]any
}

func newFakeGateway(t *testing.T, key []byte) *fakeGateway {
	t.Helper()
	g := &fakeGateway{t: t, key: key, release: make(chan struct{})}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)                     // runs second: waits for handlers
	t.Cleanup(func() { close(g.release) }) // runs first: frees a sleeping handler
	return g
}

func (g *fakeGateway) serve(w http.ResponseWriter, r *http.Request) {
	if g.delay > 0 {
		select {
		case <-time.After(g.delay):
		case <-r.Context().Done():
			return
		case <-g.release:
			return
		}
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		g.t.Errorf("gateway: Content-Type = %q", ct)
	}
	var call receivedGatewayCall
	if g.key != nil {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		claims, err := verifyHS256(token, g.key)
		if err != nil || claims["sub"] != gatewaySubject || claims["aud"] != gatewayAudience {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		call.token, call.claims = token, claims
	} else if a := r.Header.Get("Authorization"); a != "" {
		g.t.Errorf("gateway: unexpected Authorization %q", a)
	}
	raw, _ := io.ReadAll(r.Body)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&call.body); err != nil {
		g.t.Errorf("gateway: body %q is not JSON: %v", raw, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	g.received = append(g.received, call)
	g.mu.Unlock()
	status := g.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"ignored":"Auth0 reads only the status"}`))
}

func (g *fakeGateway) calls() []receivedGatewayCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]receivedGatewayCall(nil), g.received...)
}

// verifyHS256 checks a compact JWT's HS256 signature with key and returns
// its claims. It is written out rather than taken from go-jose because the
// short secrets Auth0 allows are below go-jose's minimum key size.
func verifyHS256(token string, key []byte) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	var header struct{ Alg, Typ string }
	if err := decodeSegment(parts[0], &header); err != nil || header.Alg != "HS256" {
		return nil, errors.New("bad header")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return nil, errors.New("bad signature")
	}
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, err
	}
	return claims, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func gatewayOptions(url string) tenant.ConnectionOptions {
	return tenant.ConnectionOptions{Provider: "sms_gateway", GatewayURL: url, From: "+1 234 567"}
}

func withAuth(opts tenant.ConnectionOptions, secret string, b64 bool) tenant.ConnectionOptions {
	opts.GatewayAuthentication = &tenant.GatewayAuthentication{
		Method: "bearer", Subject: gatewaySubject, Audience: gatewayAudience,
		Secret: secret, SecretBase64Encoded: b64,
	}
	return opts
}

var testMessage = SMS{
	To: "+16502530000", Body: "Your verification code is: 123456",
	IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Test/1.0",
}

func TestGateway_PostsAuth0BodyWithoutAuthentication(t *testing.T) {
	gw := newFakeGateway(t, nil)
	if err := NewSMSSender(gatewayOptions(gw.URL), SMSConfig{}).SendSMS(context.Background(), testMessage); err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	calls := gw.calls()
	if len(calls) != 1 {
		t.Fatalf("gateway got %d calls, want 1", len(calls))
	}
	want := map[string]any{"recipient": "+16502530000", "body": "Your verification code is: 123456", "sender": "+1 234 567"}
	if got := calls[0].body; !equalJSON(got, want) {
		t.Fatalf("body = %v, want %v (no req without forward_req_info)", got, want)
	}
}

func TestGateway_SignsJWTWithPlainSecretAndForwardsRequestInfo(t *testing.T) {
	const secret = "MySecretToSignTheToken" // Auth0's example: shorter than 256 bits
	gw := newFakeGateway(t, []byte(secret))
	opts := withAuth(gatewayOptions(gw.URL), secret, false)
	opts.ForwardReqInfo = true
	now := time.Unix(1_700_000_000, 0)
	s := &gatewaySender{opts: opts, cfg: SMSConfig{}.withDefaults(), now: func() time.Time { return now }}
	if err := s.SendSMS(context.Background(), testMessage); err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	call := gw.calls()[0]
	want := map[string]any{
		"recipient": "+16502530000", "body": "Your verification code is: 123456", "sender": "+1 234 567",
		"req": map[string]any{"ip": "203.0.113.7", "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Test/1.0"},
	}
	if !equalJSON(call.body, want) {
		t.Fatalf("body = %v, want %v", call.body, want)
	}
	wantClaims := map[string]any{"sub": gatewaySubject, "aud": gatewayAudience, "iat": 1_700_000_000, "exp": 1_700_000_300}
	if !equalJSON(call.claims, wantClaims) {
		t.Fatalf("claims = %v, want %v", call.claims, wantClaims)
	}
}

func TestGateway_Base64SecretIsDecodedBeforeSigning(t *testing.T) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	for name, encoded := range map[string]string{
		"base64url":          base64.RawURLEncoding.EncodeToString(key),
		"standard, padded":   base64.StdEncoding.EncodeToString(key),
		"standard, unpadded": base64.RawStdEncoding.EncodeToString(key),
	} {
		t.Run(name, func(t *testing.T) {
			gw := newFakeGateway(t, key)
			err := NewSMSSender(withAuth(gatewayOptions(gw.URL), encoded, true), SMSConfig{}).SendSMS(context.Background(), testMessage)
			if err != nil {
				t.Fatalf("SendSMS: %v", err)
			}
			// A 256-bit key is within go-jose's rules, so a stock JWT library
			// must accept the token as well.
			parsed, err := jwt.ParseSigned(gw.calls()[0].token, []jose.SignatureAlgorithm{jose.HS256})
			if err != nil {
				t.Fatalf("go-jose cannot parse the token: %v", err)
			}
			var c jwt.Claims
			if err := parsed.Claims(key, &c); err != nil {
				t.Fatalf("go-jose rejects the signature: %v", err)
			}
			if err := c.Validate(jwt.Expected{Subject: gatewaySubject, AnyAudience: jwt.Audience{gatewayAudience}, Time: time.Now()}); err != nil {
				t.Fatalf("go-jose rejects the claims: %v", err)
			}
		})
	}
}

func TestGateway_AnySuccessStatusIsAccepted(t *testing.T) {
	gw := newFakeGateway(t, nil)
	gw.status = http.StatusAccepted
	if err := NewSMSSender(gatewayOptions(gw.URL), SMSConfig{}).SendSMS(context.Background(), testMessage); err != nil {
		t.Fatalf("SendSMS with a 202 answer: %v", err)
	}
}

func TestGateway_Errors(t *testing.T) {
	tests := []struct {
		name     string
		key      []byte // the gateway's
		secret   string // ours; "" = no gateway_authentication
		status   int
		wantDesc string
	}{
		{name: "401 from a wrong secret", key: []byte("the-gateway-secret"), secret: "another-secret",
			wantDesc: "Authentication failed while calling the SMS gateway: 401"},
		{name: "401 with no token", key: []byte("the-gateway-secret"),
			wantDesc: "Authentication failed while calling the SMS gateway: 401"},
		{name: "500", status: http.StatusInternalServerError,
			wantDesc: "Unexpected response while calling the SMS gateway: 500"},
		{name: "redirect is not success", status: http.StatusNotModified,
			wantDesc: "Unexpected response while calling the SMS gateway: 304"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw := newFakeGateway(t, tt.key)
			gw.status = tt.status
			opts := gatewayOptions(gw.URL)
			if tt.secret != "" {
				opts = withAuth(opts, tt.secret, false)
			}
			err := NewSMSSender(opts, SMSConfig{}).SendSMS(context.Background(), testMessage)
			wantProviderError(t, err, tt.wantDesc)
		})
	}
}

func TestGateway_NoAnswerWithinTimeoutIsETIMEDOUT(t *testing.T) {
	gw := newFakeGateway(t, nil)
	gw.delay = 10 * time.Second
	start := time.Now()
	err := NewSMSSender(gatewayOptions(gw.URL), SMSConfig{GatewayTimeout: 200 * time.Millisecond}).
		SendSMS(context.Background(), testMessage)
	wantProviderError(t, err, "Timeout while calling the SMS gateway: ETIMEDOUT")
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("SendSMS took %v with a 200ms timeout", elapsed)
	}
}

func TestGateway_UnreachableIsUnexpectedResponse(t *testing.T) {
	err := NewSMSSender(gatewayOptions("http://"+closedAddr(t)+"/sms"), SMSConfig{}).SendSMS(context.Background(), testMessage)
	wantProviderError(t, err, "Unexpected response while calling the SMS gateway: ECONNREFUSED")
}

func TestGateway_CallerCancellationIsNotAProviderError(t *testing.T) {
	gw := newFakeGateway(t, nil)
	gw.delay = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := NewSMSSender(gatewayOptions(gw.URL), SMSConfig{}).SendSMS(ctx, testMessage)
	var e *ProviderError
	if err == nil || errors.As(err, &e) {
		t.Fatalf("error = %v, want our own (non-provider) error", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want it to wrap the caller's context error", err)
	}
}

func TestGateway_MisconfigurationIsOurErrorAndSendsNothing(t *testing.T) {
	gw := newFakeGateway(t, nil)
	for name, opts := range map[string]tenant.ConnectionOptions{
		"no gateway_url":     {Provider: "sms_gateway"},
		"relative url":       {Provider: "sms_gateway", GatewayURL: "/sms"},
		"ftp url":            {Provider: "sms_gateway", GatewayURL: "ftp://example.com/"},
		"base64 that is not": withAuth(gatewayOptions(gw.URL), "not base64!", true),
		"empty secret":       withAuth(gatewayOptions(gw.URL), "", false),
	} {
		t.Run(name, func(t *testing.T) {
			err := NewSMSSender(opts, SMSConfig{}).SendSMS(context.Background(), testMessage)
			var e *ProviderError
			if err == nil || errors.As(err, &e) {
				t.Fatalf("error = %v, want a configuration error", err)
			}
		})
	}
	if n := len(gw.calls()); n != 0 {
		t.Fatalf("gateway got %d calls", n)
	}
}

// equalJSON compares two JSON-shaped values by their encoding.
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}
