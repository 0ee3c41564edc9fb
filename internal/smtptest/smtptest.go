// Package smtptest runs a real SMTP server for tests (github.com/emersion/go-smtp)
// that records every message it accepts and parses it into its parts.
package smtptest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From    string   // envelope sender
	To      []string // envelope recipients
	Header  mail.Header
	Subject string
	Text    string // text/plain part, decoded
	HTML    string // text/html part, decoded
	Raw     []byte
	// Received is when the server accepted the message's data.
	Received time.Time
}

// Server is a running SMTP server.
type Server struct {
	Addr string // host:port
	srv  *smtp.Server
	ln   net.Listener

	mu       sync.Mutex
	messages []Message
	notify   chan struct{}
	delay    time.Duration
	slowTo   map[string]time.Duration
	inData   int
	maxData  int
	sessions int
}

// SlowData makes the server take d to accept each message's data, as a
// slow relay would.
func (s *Server) SlowData(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SlowDataTo makes the server take d to accept the data of each message
// to recipient, and leaves the others as they are.
func (s *Server) SlowDataTo(recipient string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.slowTo == nil {
		s.slowTo = map[string]time.Duration{}
	}
	s.slowTo[recipient] = d
}

// InData is how many messages are being received right now.
func (s *Server) InData() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inData
}

// MaxInData is the most messages that were ever being received at once.
func (s *Server) MaxInData() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxData
}

// Sessions is how many SMTP sessions (connections) clients have opened.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// Start starts a server on 127.0.0.1 and a free port; it stops with the test.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartAt(t, "127.0.0.1:0")
}

// StartAt starts a server on addr; it stops with the test.
func StartAt(t testing.TB, addr string) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, notify: make(chan struct{}, 1)}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { s.Close() })
	return s
}

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// Messages returns what has arrived so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Wait waits until at least n messages arrived and returns them.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.notify:
		case <-deadline:
			t.Fatalf("smtptest: waited %v for %d messages, got %d", timeout, n, len(s.Messages()))
		}
	}
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) {
	b.s.mu.Lock()
	b.s.sessions++
	b.s.mu.Unlock()
	return &session{s: b.s}, nil
}

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) AuthMechanisms() []string { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}
func (x *session) Data(r io.Reader) error {
	x.s.mu.Lock()
	x.s.inData++
	x.s.maxData = max(x.s.maxData, x.s.inData)
	delay := x.s.delay
	for _, to := range x.to {
		delay = max(delay, x.s.slowTo[to])
	}
	x.s.mu.Unlock()
	defer func() {
		x.s.mu.Lock()
		x.s.inData--
		x.s.mu.Unlock()
	}()
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	time.Sleep(delay)
	m, err := Parse(raw)
	if err != nil {
		return err
	}
	m.From, m.To, m.Received = x.from, x.to, time.Now()
	x.s.add(m)
	return nil
}
func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

// Parse reads a message and its text and HTML parts.
func Parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("read message: %w", err)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subject = msg.Header.Get("Subject")
	}
	m := Message{Header: msg.Header, Subject: subject, Raw: raw}
	if err := m.walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body); err != nil {
		return Message{}, err
	}
	return m, nil
}

func (m *Message) walk(contentType, encoding string, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := m.walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64Reader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	switch mt {
	case "text/plain":
		m.Text = string(b)
	case "text/html":
		m.HTML = string(b)
	}
	return nil
}

// base64Reader decodes a base64 body whose lines are wrapped.
func base64Reader(r io.Reader) io.Reader {
	return base64.NewDecoder(base64.StdEncoding, &stripNewlines{r: r})
}

type stripNewlines struct{ r io.Reader }

func (s *stripNewlines) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	j := 0
	for _, c := range p[:n] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}
