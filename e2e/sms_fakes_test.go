package e2e

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sesame-id/sesame/internal/smstest"
)

// fakeTwilio is smstest's Twilio for the test tenant's account.
type fakeTwilio struct{ *smstest.Twilio }

func startFakeTwilio(t *testing.T) *fakeTwilio {
	return &fakeTwilio{smstest.StartTwilio(t, twilioSID, twilioToken)}
}

// answer makes the fake answer every further message with fail; nil
// restores acceptance.
func (f *fakeTwilio) answer(fail func(w http.ResponseWriter)) {
	if fail == nil {
		f.Respond(nil)
		return
	}
	f.Respond(func(w http.ResponseWriter, _ url.Values) { fail(w) })
}

func (f *fakeTwilio) messages() []url.Values { return f.Messages() }

// lastCode is the code in the body of the last message received.
func (f *fakeTwilio) lastCode(t *testing.T) string {
	t.Helper()
	msgs := f.messages()
	if len(msgs) == 0 {
		t.Fatalf("twilio received no message")
	}
	return smsCode(t, msgs[len(msgs)-1].Get("Body"))
}

// gatewayMessage is the JSON body of Auth0's custom SMS gateway call.
type gatewayMessage struct {
	Recipient string `json:"recipient"`
	Body      string `json:"body"`
	Sender    string `json:"sender"`
	Req       *struct {
		IP        string `json:"ip"`
		UserAgent string `json:"user-agent"`
	} `json:"req"`
}

// fakeGateway is a custom SMS gateway as Auth0 calls it (spec §5.5): POST
// with a JSON {recipient, body, sender, req} and an HS256 bearer JWT whose
// sub, aud and signature it checks with go-jose. Only its status matters
// to the caller; a test can make it refuse, fail or stall.
type fakeGateway struct {
	t   *testing.T
	URL string // the gateway_url

	mu       sync.Mutex
	received []gatewayMessage
	status   int           // 0: 200
	stall    time.Duration // wait this long (or until the caller hangs up) before answering
}

func startFakeGateway(t *testing.T) *fakeGateway {
	t.Helper()
	g := &fakeGateway{t: t}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.URL = srv.URL + "/sms/send"
	return g
}

func (g *fakeGateway) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/sms/send" {
		g.t.Errorf("gateway: %s %s, want POST /sms/send", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		g.t.Errorf("gateway: Authorization %q, want a bearer token", r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.HS256})
	var claims jwt.Claims
	if err == nil {
		err = tok.Claims([]byte(gatewaySecret), &claims)
	}
	if err == nil {
		err = claims.ValidateWithLeeway(jwt.Expected{
			Subject: gatewaySubject, AnyAudience: jwt.Audience{gatewayAud}, Time: time.Now(),
		}, time.Minute)
	}
	if err == nil && (claims.Expiry == nil || claims.IssuedAt == nil) {
		err = fmt.Errorf("iat %v exp %v", claims.IssuedAt, claims.Expiry)
	}
	if err != nil {
		g.t.Errorf("gateway: bearer token: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		g.t.Errorf("gateway: Content-Type %q", r.Header.Get("Content-Type"))
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var m gatewayMessage
	if err := dec.Decode(&m); err != nil || m.Recipient == "" || m.Body == "" {
		g.t.Errorf("gateway: body %+v: %v", m, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	g.received = append(g.received, m)
	status, stall := g.status, g.stall
	g.mu.Unlock()
	if stall > 0 {
		select {
		case <-time.After(stall):
		case <-r.Context().Done():
			return
		}
	}
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
}

// answer sets the status of further answers (0: 200) and how long to
// stall before each.
func (g *fakeGateway) answer(status int, stall time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.status, g.stall = status, stall
}

func (g *fakeGateway) messages() []gatewayMessage {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]gatewayMessage(nil), g.received...)
}

func (g *fakeGateway) lastCode(t *testing.T) string {
	t.Helper()
	msgs := g.messages()
	if len(msgs) == 0 {
		t.Fatalf("the gateway received no message")
	}
	return smsCode(t, msgs[len(msgs)-1].Body)
}

var smsCodeRE = regexp.MustCompile(`\b(\d{6})\b`)

// smsCode is the six-digit code in an SMS body.
func smsCode(t *testing.T, body string) string {
	t.Helper()
	m := smsCodeRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no code in SMS body %q", body)
	}
	return m[1]
}
