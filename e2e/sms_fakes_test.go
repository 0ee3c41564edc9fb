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
)

// fakeTwilio speaks the part of Twilio's Programmable Messaging REST API
// that Sesame uses: POST /2010-04-01/Accounts/{AccountSid}/Messages.json,
// HTTP Basic with the account SID and auth token, form-encoded To, Body and
// From or MessagingServiceSid. It answers as Twilio does, and a test can
// make it answer with an error instead. A request that breaks the protocol
// fails the test.
type fakeTwilio struct {
	t   *testing.T
	URL string // base URL, for --twilio-api-url

	mu       sync.Mutex
	received []url.Values                // every well-formed message, accepted or not
	fail     func(w http.ResponseWriter) // nil: accept
}

func startFakeTwilio(t *testing.T) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{t: t}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// twilioFields are the Message resource parameters Sesame may send.
var twilioFields = map[string]bool{"To": true, "From": true, "MessagingServiceSid": true, "Body": true}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	path := "/2010-04-01/Accounts/" + twilioSID + "/Messages.json"
	if r.Method != http.MethodPost || r.URL.Path != path {
		f.t.Errorf("twilio: %s %s, want POST %s", r.Method, r.URL.Path, path)
		writeTwilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != twilioSID || pass != twilioToken {
		f.t.Errorf("twilio: Basic auth %q:%q (ok=%v), want the connection's SID and token", user, pass, ok)
		writeTwilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("twilio: Content-Type %q", r.Header.Get("Content-Type"))
	}
	if err := r.ParseForm(); err != nil || len(r.URL.RawQuery) > 0 {
		f.t.Errorf("twilio: form %v, query %q", err, r.URL.RawQuery)
		writeTwilioError(w, http.StatusBadRequest, 20001, "Invalid form")
		return
	}
	form := r.PostForm
	for k, v := range form {
		if !twilioFields[k] || len(v) != 1 {
			f.t.Errorf("twilio: unexpected form field %s=%q", k, v)
		}
	}
	switch {
	case form.Get("To") == "":
		f.t.Errorf("twilio: no To")
		writeTwilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case form.Get("From") == "" && form.Get("MessagingServiceSid") == "":
		f.t.Errorf("twilio: neither From nor MessagingServiceSid")
		writeTwilioError(w, http.StatusBadRequest, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
		return
	case form.Get("Body") == "":
		f.t.Errorf("twilio: no Body")
		writeTwilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	f.mu.Lock()
	f.received = append(f.received, form)
	fail := f.fail
	f.mu.Unlock()
	if fail != nil {
		fail(w)
		return
	}
	writeTwilioMessage(w, form)
}

// answer makes the fake answer every further message with fail; nil
// restores acceptance.
func (f *fakeTwilio) answer(fail func(w http.ResponseWriter)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

func (f *fakeTwilio) messages() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.received...)
}

// lastCode is the code in the body of the last message received.
func (f *fakeTwilio) lastCode(t *testing.T) string {
	t.Helper()
	msgs := f.messages()
	if len(msgs) == 0 {
		t.Fatalf("twilio received no message")
	}
	return smsCode(t, msgs[len(msgs)-1].Get("Body"))
}

// writeTwilioMessage answers as Twilio does when it accepts a message: 201
// Created with the Message resource, status "queued" ("accepted" when a
// Messaging Service picks the sender).
func writeTwilioMessage(w http.ResponseWriter, form url.Values) {
	const msgSID = "SM1f0e8ae6ade43cb3c0ce4525424e404f"
	now := time.Now().UTC().Format(time.RFC1123Z)
	status, from, service := "queued", any(form.Get("From")), any(nil)
	if s := form.Get("MessagingServiceSid"); s != "" {
		status, service = "accepted", s
		if form.Get("From") == "" {
			from = nil
		}
	}
	uri := "/2010-04-01/Accounts/" + twilioSID + "/Messages/" + msgSID
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"account_sid": twilioSID, "api_version": "2010-04-01", "body": form.Get("Body"),
		"date_created": now, "date_sent": nil, "date_updated": now, "direction": "outbound-api",
		"error_code": nil, "error_message": nil, "from": from, "messaging_service_sid": service,
		"num_media": "0", "num_segments": "1", "price": nil, "price_unit": "USD", "sid": msgSID,
		"status": status, "subresource_uris": map[string]string{"media": uri + "/Media.json"},
		"to": form.Get("To"), "uri": uri + ".json",
	})
}

// writeTwilioError answers with Twilio's error body, e.g.
// {"code":21211,"message":"Invalid 'To' Phone Number","more_info":"https://www.twilio.com/docs/errors/21211","status":400}.
func writeTwilioError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status,
	})
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
