// Package smstest runs a fake Twilio for tests, the way smtptest runs a mail
// server: it speaks the part of Twilio's Programmable Messaging REST API that
// Sesame uses, over real HTTP.
package smstest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Twilio answers POST /2010-04-01/Accounts/{SID}/Messages.json with HTTP
// Basic SID:Token and a form-encoded To, Body and From or
// MessagingServiceSid, as Twilio does: 201 with the Message resource, or
// Twilio's error body (wrong credentials: 401 "Authenticate"; a missing To,
// Body or sender: Twilio's 400s). What Sesame should never send (another
// method or path, another content type, unknown or repeated fields) also
// fails the test.
type Twilio struct {
	URL        string // base URL, for --twilio-api-url
	SID, Token string

	t        testing.TB
	mu       sync.Mutex
	received []url.Values
	respond  func(w http.ResponseWriter, form url.Values)
}

// StartTwilio starts a fake Twilio for account sid with auth token token; it
// stops when the test ends.
func StartTwilio(t testing.TB, sid, token string) *Twilio {
	t.Helper()
	f := &Twilio{SID: sid, Token: token, t: t}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Respond makes the fake answer every further well-formed message with fn
// instead of accepting it; nil restores acceptance.
func (f *Twilio) Respond(fn func(w http.ResponseWriter, form url.Values)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.respond = fn
}

// Messages returns every well-formed message received, accepted or not.
func (f *Twilio) Messages() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.received...)
}

// fields are the Message resource parameters Sesame may send.
var fields = map[string]bool{"To": true, "From": true, "MessagingServiceSid": true, "Body": true}

func (f *Twilio) serve(w http.ResponseWriter, r *http.Request) {
	path := "/2010-04-01/Accounts/" + f.SID + "/Messages.json"
	if r.Method != http.MethodPost || r.URL.Path != path {
		f.t.Errorf("twilio: %s %s, want POST %s", r.Method, r.URL.Path, path)
		WriteError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != f.SID || pass != f.Token {
		WriteError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("twilio: Content-Type %q", r.Header.Get("Content-Type"))
	}
	if a := r.Header.Get("Accept"); a != "application/json" {
		f.t.Errorf("twilio: Accept %q", a)
	}
	if err := r.ParseForm(); err != nil || r.URL.RawQuery != "" {
		f.t.Errorf("twilio: form %v, query %q", err, r.URL.RawQuery)
		WriteError(w, http.StatusBadRequest, 20001, "Invalid form")
		return
	}
	form := r.PostForm
	for k, v := range form {
		if !fields[k] || len(v) != 1 {
			f.t.Errorf("twilio: unexpected form field %s=%q", k, v)
		}
	}
	switch {
	case form.Get("To") == "":
		WriteError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case form.Get("From") == "" && form.Get("MessagingServiceSid") == "":
		WriteError(w, http.StatusBadRequest, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
		return
	case form.Get("Body") == "":
		WriteError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	f.mu.Lock()
	f.received = append(f.received, form)
	respond := f.respond
	f.mu.Unlock()
	if respond != nil {
		respond(w, form)
		return
	}
	WriteMessage(w, f.SID, form)
}

// WriteMessage answers as Twilio does when it accepts a message for account
// sid: 201 Created with the Message resource, status "queued" ("accepted"
// when a Messaging Service picks the sender).
func WriteMessage(w http.ResponseWriter, sid string, form url.Values) {
	const msgSID = "SM1f0e8ae6ade43cb3c0ce4525424e404f"
	now := time.Now().UTC().Format(time.RFC1123Z)
	status, from, service := "queued", any(form.Get("From")), any(nil)
	if s := form.Get("MessagingServiceSid"); s != "" {
		status, service = "accepted", s
		if form.Get("From") == "" {
			from = nil
		}
	}
	uri := "/2010-04-01/Accounts/" + sid + "/Messages/" + msgSID
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"account_sid": sid, "api_version": "2010-04-01", "body": form.Get("Body"),
		"date_created": now, "date_sent": nil, "date_updated": now, "direction": "outbound-api",
		"error_code": nil, "error_message": nil, "from": from, "messaging_service_sid": service,
		"num_media": "0", "num_segments": "1", "price": nil, "price_unit": "USD", "sid": msgSID,
		"status": status, "subresource_uris": map[string]string{"media": uri + "/Media.json"},
		"to": form.Get("To"), "uri": uri + ".json",
	})
}

// WriteError answers with Twilio's error body, e.g.
// {"code":21211,"message":"Invalid 'To' Phone Number","more_info":"https://www.twilio.com/docs/errors/21211","status":400}.
func WriteError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status,
	})
}
