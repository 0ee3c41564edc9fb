package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sesame-id/sesame/internal/smstest"
	"github.com/sesame-id/sesame/internal/smtptest"
)

// inbox holds the messages Sesame sent, by recipient, until a virtual user
// takes them, and measures time to inbox: from the moment the client had
// /passwordless/start's answer to the moment the message was in the sink.
// A recipient gets one message at a time (every iteration uses a new one).
type inbox struct {
	mu    sync.Mutex
	boxes map[string]*box
}

type box struct {
	answered time.Time // when the client had the start's answer; zero until then
	arrived  time.Time // when the message was in the sink; zero until then
	keep     bool      // a virtual user will take the message
	text     string    // the code (email text, SMS body) or the link
	ready    chan struct{}
	// rec gets the time to inbox; nil when it is not measured.
	rec *recorder
}

func newInbox() *inbox { return &inbox{boxes: map[string]*box{}} }

func (in *inbox) boxLocked(rcpt string) *box {
	b := in.boxes[rcpt]
	if b == nil {
		b = &box{ready: make(chan struct{})}
		in.boxes[rcpt] = b
	}
	return b
}

// answered records that the client had the answer of a start for rcpt;
// keep says whether it will take the message with wait, rec (when not nil)
// gets the time to inbox once the message is there.
func (in *inbox) answered(rcpt string, at time.Time, keep bool, rec *recorder) {
	in.mu.Lock()
	defer in.mu.Unlock()
	b := in.boxLocked(rcpt)
	b.answered, b.keep, b.rec = at, keep, rec
	in.settleLocked(rcpt, b)
}

// deliver puts a message in rcpt's box.
func (in *inbox) deliver(rcpt, text string, at time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	b := in.boxLocked(rcpt)
	if !b.arrived.IsZero() {
		return // a second message (a retry after a lost completion): the first counts
	}
	b.arrived, b.text = at, text
	close(b.ready)
	in.settleLocked(rcpt, b)
}

// settleLocked measures the time to inbox once both ends are known, and
// forgets a box nobody will take.
func (in *inbox) settleLocked(rcpt string, b *box) {
	if b.answered.IsZero() || b.arrived.IsZero() {
		return
	}
	if b.rec != nil {
		// A fast worker can deliver a mail before the client has read
		// the answer: 0.
		b.rec.toInbox(max(b.arrived.Sub(b.answered), 0))
		b.rec = nil
	}
	if !b.keep {
		delete(in.boxes, rcpt)
	}
}

// undelivered is how many answered starts still wait for their message.
func (in *inbox) undelivered() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, b := range in.boxes {
		if !b.answered.IsZero() && b.arrived.IsZero() {
			n++
		}
	}
	return n
}

// wait returns the message for rcpt and forgets its box.
func (in *inbox) wait(ctx context.Context, rcpt string) (string, error) {
	in.mu.Lock()
	b := in.boxLocked(rcpt)
	in.mu.Unlock()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	select {
	case <-b.ready:
		in.forget(rcpt)
		return b.text, nil
	case <-ctx.Done():
		in.abandon(rcpt)
		return "", ctx.Err()
	case <-timeout.C:
		in.abandon(rcpt)
		return "", fmt.Errorf("no message for %s within 30s", rcpt)
	}
}

func (in *inbox) forget(rcpt string) {
	in.mu.Lock()
	delete(in.boxes, rcpt)
	in.mu.Unlock()
}

// abandon gives up waiting for rcpt's message; its time to inbox is still
// measured when it comes.
func (in *inbox) abandon(rcpt string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if b := in.boxes[rcpt]; b != nil {
		b.keep = false
		if !b.arrived.IsZero() {
			delete(in.boxes, rcpt)
		}
	}
}

// sweep forgets boxes of messages that arrived for no one (an iteration
// cut off by the end of a run), so a long run does not grow.
func (in *inbox) sweep(olderThan time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for k, b := range in.boxes {
		t := b.arrived
		if t.IsZero() {
			t = b.answered
		}
		if !t.IsZero() && t.Before(olderThan) {
			delete(in.boxes, k)
		}
	}
}

var (
	codeRE = regexp.MustCompile(`\b(\d{6})\b`)
	hrefRE = regexp.MustCompile(`href="([^"]*passwordless/verify_redirect\?[^"]*)"`)
)

// mailSink is the SMTP server Sesame's outbox delivers to.
type mailSink struct {
	Addr string
	srv  *smtp.Server
}

func startMailSinkAt(addr string, in *inbox) (*mailSink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mail sink: %w", err)
	}
	srv := smtp.NewServer(sinkBackend{in})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxRecipients = 1
	go func() { _ = srv.Serve(ln) }()
	return &mailSink{Addr: ln.Addr().String(), srv: srv}, nil
}

func (s *mailSink) Close() { _ = s.srv.Close() }

type sinkBackend struct{ in *inbox }

func (b sinkBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &sinkSession{in: b.in}, nil
}

type sinkSession struct {
	in *inbox
	to string
}

func (x *sinkSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error { x.to = to; return nil }
func (x *sinkSession) Reset()                                    { x.to = "" }
func (x *sinkSession) Logout() error                             { return nil }

func (x *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	at := time.Now()
	m, err := smtptest.Parse(raw)
	if err != nil {
		return err
	}
	// A magic link when there is one (send: link), else the code.
	text := ""
	if h := hrefRE.FindStringSubmatch(m.HTML); h != nil {
		text = html.UnescapeString(h[1])
	} else if c := codeRE.FindStringSubmatch(m.Text); c != nil {
		text = c[1]
	}
	x.in.deliver(x.to, text, at)
	return nil
}

// Twilio's account the bench's tenant names; the fake checks nothing but
// hands every message's code to the inbox.
const (
	twilioSID   = "AC00000000000000000000000000bench"
	twilioToken = "bench-twilio-token-000000000000000"
)

// fakeTwilio answers Twilio's Messages API as smstest.Twilio does, for a
// process that is no test.
func startFakeTwilio(addr string, in *inbox) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("fake twilio: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			smstest.WriteError(w, http.StatusBadRequest, 20001, "Invalid form")
			return
		}
		at := time.Now()
		code := ""
		if c := codeRE.FindStringSubmatch(r.PostForm.Get("Body")); c != nil {
			code = c[1]
		}
		in.deliver(r.PostForm.Get("To"), code, at)
		smstest.WriteMessage(w, twilioSID, r.PostForm)
	})}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// decodeJSON reads a JSON answer into v.
func decodeJSON(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %q: %w", truncate(string(b), 200), err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
