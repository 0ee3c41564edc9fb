package delivery

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-id/sesame/internal/smstest"
	"github.com/sesame-id/sesame/internal/tenant"
)

const (
	testTwilioSID   = "AC0123456789abcdef0123456789abcdef"
	testTwilioToken = "twilio-auth-token-do-not-leak"
)

func newFakeTwilio(t *testing.T) *smstest.Twilio {
	return smstest.StartTwilio(t, testTwilioSID, testTwilioToken)
}

func twilioOptions(from string) tenant.ConnectionOptions {
	return tenant.ConnectionOptions{TwilioSID: testTwilioSID, TwilioToken: testTwilioToken, From: from}
}

// wantProviderError checks that err is the sms_provider_error with desc and
// that it does not leak the Twilio token.
func wantProviderError(t *testing.T, err error, desc string) {
	t.Helper()
	var e *ProviderError
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *ProviderError", err, err)
	}
	if e.Description != desc || !strings.HasPrefix(e.Error(), "sms_provider_error: ") {
		t.Fatalf("error = %q, want sms_provider_error with %q", e.Error(), desc)
	}
	if strings.Contains(err.Error(), testTwilioToken) {
		t.Fatalf("error text contains the Twilio token: %v", err)
	}
}

func TestTwilio_SendsFormWithBasicAuthAndAcceptsQueuedMessage(t *testing.T) {
	tw := newFakeTwilio(t)
	s := NewSMSSender(twilioOptions("+16502530001"), SMSConfig{TwilioAPIURL: tw.URL})
	err := s.SendSMS(context.Background(), SMS{To: "+442071838750", Body: "Your verification code is: 123456"})
	if err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	reqs := tw.Messages()
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
	s := NewSMSSender(twilioOptions("Acme Inc"), SMSConfig{TwilioAPIURL: tw.URL + "/"}) // a trailing slash is fine too
	if err := s.SendSMS(context.Background(), SMS{To: "+4930901820", Body: "code 1"}); err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	if got := tw.Messages()[0].Get("From"); got != "Acme Inc" {
		t.Fatalf("From = %q, want the configured sender unchanged", got)
	}
}

func TestTwilio_MessagingServiceSidIsSentInsteadOfFrom(t *testing.T) {
	tw := newFakeTwilio(t)
	opts := twilioOptions("+16502530001")
	opts.MessagingServiceSID = "MG9752274e9e519418a7406176694466fa"
	if err := NewSMSSender(opts, SMSConfig{TwilioAPIURL: tw.URL}).SendSMS(context.Background(), SMS{To: "+16502530000", Body: "x"}); err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	form := tw.Messages()[0]
	if form.Get("MessagingServiceSid") != opts.MessagingServiceSID {
		t.Fatalf("MessagingServiceSid = %q", form.Get("MessagingServiceSid"))
	}
	if _, ok := form["From"]; ok {
		t.Fatalf("From = %q sent beside MessagingServiceSid", form.Get("From"))
	}
}

func TestTwilio_ErrorBecomesProviderErrorWithItsCode(t *testing.T) {
	tw := newFakeTwilio(t)
	tw.Respond(func(w http.ResponseWriter, _ url.Values) {
		smstest.WriteError(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number")
	})
	err := NewSMSSender(twilioOptions("+16502530001"), SMSConfig{TwilioAPIURL: tw.URL}).
		SendSMS(context.Background(), SMS{To: "+16502530000", Body: "x"})
	wantProviderError(t, err, "Invalid 'To' Phone Number (Code: 21211)")
}

func TestTwilio_WrongTokenIsTwiliosAuthenticateError(t *testing.T) {
	tw := newFakeTwilio(t)
	opts := twilioOptions("+16502530001")
	opts.TwilioToken = "wrong-token"
	err := NewSMSSender(opts, SMSConfig{TwilioAPIURL: tw.URL}).SendSMS(context.Background(), SMS{To: "+16502530000", Body: "x"})
	wantProviderError(t, err, "Authenticate (Code: 20003)")
	if strings.Contains(err.Error(), "wrong-token") {
		t.Fatalf("error text contains the token: %v", err)
	}
}

func TestTwilio_MissingSenderIsTwiliosError(t *testing.T) {
	tw := newFakeTwilio(t)
	err := NewSMSSender(twilioOptions(""), SMSConfig{TwilioAPIURL: tw.URL}).SendSMS(context.Background(), SMS{To: "+16502530000", Body: "x"})
	wantProviderError(t, err, "A 'From' or 'MessagingServiceSid' parameter is required to send a message (Code: 21603)")
}

func TestTwilio_HTMLServerErrorIsUnexpectedResponse(t *testing.T) {
	tw := newFakeTwilio(t)
	tw.Respond(func(w http.ResponseWriter, _ url.Values) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<html><body><h1>500 Internal Server Error</h1></body></html>"))
	})
	err := NewSMSSender(twilioOptions("+16502530001"), SMSConfig{TwilioAPIURL: tw.URL}).
		SendSMS(context.Background(), SMS{To: "+16502530000", Body: "x"})
	wantProviderError(t, err, "Unexpected response from Twilio: 500")
}

func TestTwilio_UnreachableHostIsProviderError(t *testing.T) {
	err := NewSMSSender(twilioOptions("+16502530001"), SMSConfig{TwilioAPIURL: "http://" + closedAddr(t)}).
		SendSMS(context.Background(), SMS{To: "+16502530000", Body: "x"})
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
