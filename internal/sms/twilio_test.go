package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/tenant"
)

const (
	testTwilioSID   = "AC0123456789abcdef0123456789abcdef"
	testTwilioToken = "twilio-auth-token-do-not-leak"
)

// fakeTwilio speaks the part of Twilio's REST API that sends a message. It
// checks the request the way Twilio does (path with the account SID, HTTP
// Basic, form encoding, a sender) and answers with Twilio's JSON shapes.
type fakeTwilio struct {
	*httptest.Server
	t *testing.T

	// respond, when set, answers instead of the default 201.
	respond func(w http.ResponseWriter, form url.Values)

	mu       sync.Mutex
	received []url.Values
}

func newFakeTwilio(t *testing.T) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{t: t}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeTwilioError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	if want := "/2010-04-01/Accounts/" + testTwilioSID + "/Messages.json"; r.URL.Path != want {
		f.t.Errorf("twilio: path = %q, want %q", r.URL.Path, want)
		writeTwilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != testTwilioSID || pass != testTwilioToken {
		writeTwilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("twilio: Content-Type = %q", ct)
	}
	if a := r.Header.Get("Accept"); a != "application/json" {
		f.t.Errorf("twilio: Accept = %q", a)
	}
	if err := r.ParseForm(); err != nil {
		writeTwilioError(w, http.StatusBadRequest, 20001, "Invalid form")
		return
	}
	form := r.PostForm
	f.mu.Lock()
	f.received = append(f.received, form)
	f.mu.Unlock()

	switch {
	case form.Get("To") == "":
		writeTwilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case form.Get("From") == "" && form.Get("MessagingServiceSid") == "":
		writeTwilioError(w, http.StatusBadRequest, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
		return
	case form.Get("Body") == "":
		writeTwilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	if f.respond != nil {
		f.respond(w, form)
		return
	}
	writeTwilioMessage(w, form)
}

func (f *fakeTwilio) requests() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.received...)
}

// writeTwilioMessage answers as Twilio does when it accepts a message: 201
// Created with the Message resource, status "queued" ("accepted" when a
// Messaging Service will pick the sender).
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
	uri := "/2010-04-01/Accounts/" + testTwilioSID + "/Messages/" + msgSID
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"account_sid":           testTwilioSID,
		"api_version":           "2010-04-01",
		"body":                  form.Get("Body"),
		"date_created":          now,
		"date_sent":             nil,
		"date_updated":          now,
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  from,
		"messaging_service_sid": service,
		"num_media":             "0",
		"num_segments":          "1",
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   msgSID,
		"status":                status,
		"subresource_uris":      map[string]string{"media": uri + "/Media.json"},
		"to":                    form.Get("To"),
		"uri":                   uri + ".json",
	})
}

// writeTwilioError answers with Twilio's error body.
func writeTwilioError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code":      code,
		"message":   message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		"status":    status,
	})
}

func twilioOptions(from string) tenant.ConnectionOptions {
	return tenant.ConnectionOptions{TwilioSID: testTwilioSID, TwilioToken: testTwilioToken, From: from}
}

// wantProviderError checks that err is the sms_provider_error with desc and
// that it does not leak the Twilio token.
func wantProviderError(t *testing.T, err error, desc string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *Error", err, err)
	}
	if e.Code != "sms_provider_error" || e.Description != desc {
		t.Fatalf("error = {%q, %q}, want {sms_provider_error, %q}", e.Code, e.Description, desc)
	}
	if strings.Contains(err.Error(), testTwilioToken) {
		t.Fatalf("error text contains the Twilio token: %v", err)
	}
}

func TestTwilio_SendsFormWithBasicAuthAndAcceptsQueuedMessage(t *testing.T) {
	tw := newFakeTwilio(t)
	s := NewSender(twilioOptions("+16502530001"), Config{TwilioAPIURL: tw.URL})
	err := s.SendSMS(context.Background(), Message{To: "+442071838750", Body: "Your verification code is: 123456"})
	if err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	reqs := tw.requests()
	if len(reqs) != 1 {
		t.Fatalf("twilio got %d requests, want 1", len(reqs))
	}
	want := url.Values{"To": {"+442071838750"}, "From": {"+16502530001"}, "Body": {"Your verification code is: 123456"}}
	if got := reqs[0]; got.Encode() != want.Encode() {
		t.Fatalf("form = %v, want %v", got, want)
	}
}

func TestTwilio_PassesAlphanumericSenderAsGiven(t *testing.T) {
	tw := newFakeTwilio(t)
	s := NewSender(twilioOptions("Acme Inc"), Config{TwilioAPIURL: tw.URL + "/"}) // a trailing slash is fine too
	if err := s.SendSMS(context.Background(), Message{To: "+4930901820", Body: "code 1"}); err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	if got := tw.requests()[0].Get("From"); got != "Acme Inc" {
		t.Fatalf("From = %q, want the configured sender unchanged", got)
	}
}

func TestTwilio_MessagingServiceSidIsSentInsteadOfFrom(t *testing.T) {
	tw := newFakeTwilio(t)
	opts := twilioOptions("+16502530001")
	opts.MessagingServiceSID = "MG9752274e9e519418a7406176694466fa"
	if err := NewSender(opts, Config{TwilioAPIURL: tw.URL}).SendSMS(context.Background(), Message{To: "+16502530000", Body: "x"}); err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	form := tw.requests()[0]
	if form.Get("MessagingServiceSid") != opts.MessagingServiceSID {
		t.Fatalf("MessagingServiceSid = %q", form.Get("MessagingServiceSid"))
	}
	if _, ok := form["From"]; ok {
		t.Fatalf("From = %q sent beside MessagingServiceSid", form.Get("From"))
	}
}

func TestTwilio_ErrorBecomesProviderErrorWithItsCode(t *testing.T) {
	tw := newFakeTwilio(t)
	tw.respond = func(w http.ResponseWriter, _ url.Values) {
		writeTwilioError(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number")
	}
	err := NewSender(twilioOptions("+16502530001"), Config{TwilioAPIURL: tw.URL}).
		SendSMS(context.Background(), Message{To: "+16502530000", Body: "x"})
	wantProviderError(t, err, "Invalid 'To' Phone Number (Code: 21211)")
}

func TestTwilio_WrongTokenIsTwiliosAuthenticateError(t *testing.T) {
	tw := newFakeTwilio(t)
	opts := twilioOptions("+16502530001")
	opts.TwilioToken = "wrong-token"
	err := NewSender(opts, Config{TwilioAPIURL: tw.URL}).SendSMS(context.Background(), Message{To: "+16502530000", Body: "x"})
	wantProviderError(t, err, "Authenticate (Code: 20003)")
	if strings.Contains(err.Error(), "wrong-token") {
		t.Fatalf("error text contains the token: %v", err)
	}
}

func TestTwilio_MissingSenderIsTwiliosError(t *testing.T) {
	tw := newFakeTwilio(t)
	err := NewSender(twilioOptions(""), Config{TwilioAPIURL: tw.URL}).SendSMS(context.Background(), Message{To: "+16502530000", Body: "x"})
	wantProviderError(t, err, "A 'From' or 'MessagingServiceSid' parameter is required to send a message (Code: 21603)")
}

func TestTwilio_HTMLServerErrorIsUnexpectedResponse(t *testing.T) {
	tw := newFakeTwilio(t)
	tw.respond = func(w http.ResponseWriter, _ url.Values) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<html><body><h1>500 Internal Server Error</h1></body></html>"))
	}
	err := NewSender(twilioOptions("+16502530001"), Config{TwilioAPIURL: tw.URL}).
		SendSMS(context.Background(), Message{To: "+16502530000", Body: "x"})
	wantProviderError(t, err, "Unexpected response from Twilio: 500")
}

func TestTwilio_UnreachableHostIsProviderError(t *testing.T) {
	err := NewSender(twilioOptions("+16502530001"), Config{TwilioAPIURL: "http://" + closedAddr(t)}).
		SendSMS(context.Background(), Message{To: "+16502530000", Body: "x"})
	wantProviderError(t, err, "Could not reach Twilio: ECONNREFUSED")
	if errors.Unwrap(err) == nil {
		t.Fatal("the network error is not kept for the logs")
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
