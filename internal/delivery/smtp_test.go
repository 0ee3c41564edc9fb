package delivery

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/sesame-id/sesame/internal/smtptest"
	"github.com/sesame-id/sesame/internal/tenant"
)

func provider(ts *testSMTP, user, pass string) *tenant.EmailProvider {
	return &tenant.EmailProvider{Name: "smtp", Credentials: tenant.EmailCredentials{
		SMTPHost: ts.Host, SMTPPort: ts.Port, SMTPUser: user, SMTPPass: pass,
	}}
}

func newSender(t *testing.T, p *tenant.EmailProvider, opts SMTPOptions) *SMTPSender {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	s, err := NewSMTPSender(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var testEmail = Email{
	From:    `"My App" <login@example.test>`,
	To:      "ann@example.test",
	Subject: "Welcome to My App – ünïcode",
	HTML:    "<p>Your code is <b>483920</b></p>",
	Text:    "Your code is 483920\n",
}

func TestSMTPSender_SendsMultipartAlternative(t *testing.T) {
	ts := startSMTP(t, smtpConfig{})
	s := newSender(t, provider(ts, "", ""), SMTPOptions{})
	if err := s.SendEmail(context.Background(), testEmail); err != nil {
		t.Fatal(err)
	}
	got := ts.wait(t, 1)[0]
	if got.From != "login@example.test" || len(got.To) != 1 || got.To[0] != "ann@example.test" {
		t.Errorf("envelope %q -> %q", got.From, got.To)
	}
	m := parseMail(t, got.Data)
	if m.ContentType != "multipart/alternative" {
		t.Errorf("content type %q", m.ContentType)
	}
	if m.Subject != testEmail.Subject {
		t.Errorf("subject %q", m.Subject)
	}
	if from := m.Header.Get("From"); !strings.Contains(from, "My App") || !strings.Contains(from, "<login@example.test>") {
		t.Errorf("From header %q", from)
	}
	if to := m.Header.Get("To"); !strings.Contains(to, "ann@example.test") {
		t.Errorf("To header %q", to)
	}
	if id := m.Header.Get("Message-ID"); !strings.HasSuffix(id, "@example.test>") {
		t.Errorf("Message-ID %q", id)
	}
	if _, err := m.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if !strings.Contains(m.Text, "483920") || strings.Contains(m.Text, "<b>") {
		t.Errorf("text part %q", m.Text)
	}
	if !strings.Contains(m.HTML, "<b>483920</b>") {
		t.Errorf("html part %q", m.HTML)
	}
}

func TestSMTPSender_AuthenticatesWithUserAndPassword(t *testing.T) {
	ts := startSMTP(t, smtpConfig{users: map[string]string{"mailer": "s3cret"}})

	if err := newSender(t, provider(ts, "mailer", "s3cret"), SMTPOptions{}).SendEmail(context.Background(), testEmail); err != nil {
		t.Fatal(err)
	}
	if got := ts.wait(t, 1)[0]; got.AuthUser != "mailer" {
		t.Errorf("authenticated as %q", got.AuthUser)
	}

	if err := newSender(t, provider(ts, "mailer", "wrong"), SMTPOptions{}).SendEmail(context.Background(), testEmail); err == nil {
		t.Error("wrong password: no error")
	}
	if err := newSender(t, provider(ts, "", ""), SMTPOptions{}).SendEmail(context.Background(), testEmail); err == nil {
		t.Error("no credentials where the server requires AUTH: no error")
	}
	if n := len(ts.messages()); n != 1 {
		t.Errorf("%d messages received, want 1", n)
	}
}

func TestSMTPSender_UsesSTARTTLSWhenOffered(t *testing.T) {
	serverTLS, roots := selfSignedTLS(t)
	ts := startSMTP(t, smtpConfig{tls: serverTLS, users: map[string]string{"mailer": "s3cret"}})

	s := newSender(t, provider(ts, "mailer", "s3cret"), SMTPOptions{TLSConfig: &tls.Config{RootCAs: roots}})
	if err := s.SendEmail(context.Background(), testEmail); err != nil {
		t.Fatal(err)
	}
	got := ts.wait(t, 1)[0]
	if !got.TLS {
		t.Error("message was not sent over TLS")
	}
	if got.AuthUser != "mailer" {
		t.Errorf("authenticated as %q", got.AuthUser)
	}

	// An untrusted certificate is an error, not a fallback to clear text.
	untrusted := newSender(t, provider(ts, "mailer", "s3cret"), SMTPOptions{})
	if err := untrusted.SendEmail(context.Background(), testEmail); err == nil {
		t.Error("untrusted certificate: no error")
	}
	if n := len(ts.messages()); n != 1 {
		t.Errorf("%d messages received, want 1", n)
	}
}

func TestSMTPSender_RequireTLSRefusesPlainServer(t *testing.T) {
	ts := startSMTP(t, smtpConfig{})
	s := newSender(t, provider(ts, "", ""), SMTPOptions{RequireTLS: true})
	if err := s.SendEmail(context.Background(), testEmail); err == nil {
		t.Fatal("no error")
	}
	if n := len(ts.messages()); n != 0 {
		t.Errorf("%d messages received", n)
	}
}

func TestSMTPSender_ServerDownIsAnError(t *testing.T) {
	s := newSender(t, &tenant.EmailProvider{Credentials: tenant.EmailCredentials{SMTPHost: "127.0.0.1", SMTPPort: closedPort(t)}}, SMTPOptions{})
	if err := s.SendEmail(context.Background(), testEmail); err == nil {
		t.Fatal("no error")
	}
}

func TestNewSMTPSender_RejectsBadProviders(t *testing.T) {
	for name, p := range map[string]*tenant.EmailProvider{
		"nil":      nil,
		"no host":  {Name: "smtp"},
		"sendgrid": {Name: "sendgrid", Credentials: tenant.EmailCredentials{SMTPHost: "x"}},
		"bad port": {Credentials: tenant.EmailCredentials{SMTPHost: "x", SMTPPort: 70000}},
	} {
		if _, err := NewSMTPSender(p, SMTPOptions{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestNegotiatedAuth_KeepsPasswordsOffUnencryptedConnections(t *testing.T) {
	tests := []struct {
		name     string
		server   gosmtp.ServerInfo
		insecure bool
		want     string // mechanism, or "" for an error
	}{
		{"remote plain text", gosmtp.ServerInfo{Name: "mail.example.test", Auth: []string{"PLAIN", "LOGIN"}}, false, ""},
		{"remote plain text allowed", gosmtp.ServerInfo{Name: "mail.example.test", Auth: []string{"PLAIN"}}, true, "PLAIN"},
		{"remote TLS", gosmtp.ServerInfo{Name: "mail.example.test", TLS: true, Auth: []string{"LOGIN", "PLAIN"}}, false, "PLAIN"},
		{"remote TLS login only", gosmtp.ServerInfo{Name: "mail.example.test", TLS: true, Auth: []string{"LOGIN"}}, false, "LOGIN"},
		{"localhost", gosmtp.ServerInfo{Name: "127.0.0.1", Auth: []string{"PLAIN"}}, false, "PLAIN"},
		{"challenge response without TLS", gosmtp.ServerInfo{Name: "mail.example.test", Auth: []string{"PLAIN", "CRAM-MD5"}}, false, "CRAM-MD5"},
		{"scram preferred", gosmtp.ServerInfo{Name: "mail.example.test", TLS: true, Auth: []string{"PLAIN", "SCRAM-SHA-256"}}, false, "SCRAM-SHA-256"},
		{"nothing known", gosmtp.ServerInfo{Name: "mail.example.test", TLS: true, Auth: []string{"GSSAPI"}}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &negotiatedAuth{user: "u", pass: "p", host: tt.server.Name, allowInsecure: tt.insecure}
			mech, _, err := a.Start(&tt.server)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("chose %s, want an error", mech)
				}
				return
			}
			if err != nil || mech != tt.want {
				t.Fatalf("got %q, %v; want %s", mech, err, tt.want)
			}
		})
	}
}

func smtptestSender(t *testing.T, addr string, opts SMTPOptions) *SMTPSender {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	s := newSender(t, &tenant.EmailProvider{Credentials: tenant.EmailCredentials{SMTPHost: host, SMTPPort: p}}, opts)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSMTPSender_SendsManyMessagesOverOneSession(t *testing.T) {
	sink := smtptest.Start(t)
	s := smtptestSender(t, sink.Addr, SMTPOptions{})
	for i := range 20 {
		e := testEmail
		e.Subject = fmt.Sprintf("message %d", i)
		if err := s.SendEmail(context.Background(), e); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	got := sink.Wait(t, 20, 5*time.Second)
	if n := sink.Sessions(); n != 1 {
		t.Errorf("20 messages in a row took %d sessions, want 1", n)
	}
	if got[19].Subject != "message 19" || got[19].To[0] != testEmail.To {
		t.Errorf("last message: %q to %v", got[19].Subject, got[19].To)
	}
}

func TestSMTPSender_ReplacesASessionTheServerClosed(t *testing.T) {
	sink := smtptest.Start(t)
	s := smtptestSender(t, sink.Addr, SMTPOptions{})
	if err := s.SendEmail(context.Background(), testEmail); err != nil {
		t.Fatal(err)
	}
	// The server goes away and comes back: the session kept open is dead.
	sink.Close()
	again := smtptest.StartAt(t, sink.Addr)
	if err := s.SendEmail(context.Background(), testEmail); err != nil {
		t.Fatalf("send after the server restarted: %v", err)
	}
	again.Wait(t, 1, 5*time.Second)
	if n := again.Sessions(); n != 1 {
		t.Errorf("%d sessions to the new server, want 1", n)
	}
}

func TestSMTPSender_StartsAFreshSessionAfterIdleTimeoutAndPerSessionLimit(t *testing.T) {
	sink := smtptest.Start(t)
	s := smtptestSender(t, sink.Addr, SMTPOptions{IdleTimeout: 50 * time.Millisecond, MaxPerSession: 3})
	send := func() {
		t.Helper()
		if err := s.SendEmail(context.Background(), testEmail); err != nil {
			t.Fatal(err)
		}
	}
	send()
	time.Sleep(100 * time.Millisecond)
	send() // idle too long: a new session
	send()
	send() // the third on this session: it is closed after
	send()
	if n := sink.Sessions(); n != 3 {
		t.Errorf("%d sessions, want 3", n)
	}
}

func TestSMTPSender_ConcurrentSendsEachHaveASession(t *testing.T) {
	sink := smtptest.Start(t)
	sink.SlowData(50 * time.Millisecond)
	s := smtptestSender(t, sink.Addr, SMTPOptions{MaxIdle: 4})
	for range 3 { // three rounds of four at once: four sessions, kept
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := s.SendEmail(context.Background(), testEmail); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	if n := sink.Sessions(); n != 4 {
		t.Errorf("%d sessions for 3 rounds of 4 concurrent sends, want 4", n)
	}
}
