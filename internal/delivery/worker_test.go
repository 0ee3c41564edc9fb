package delivery

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/clocktest"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// closedPort returns a loopback port nobody listens on (for now).
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

type workerFixture struct {
	w     *Worker
	st    *testOutbox
	clock *clocktest.Clock
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newWorker(t *testing.T, sender EmailSender) *workerFixture {
	t.Helper()
	f := &workerFixture{
		st:    newOutbox(t),
		clock: clocktest.New(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)),
		logs:  &syncBuffer{},
	}
	f.w = &Worker{
		Store:   f.st,
		Sealer:  testSealer(t),
		Sender:  func() EmailSender { return sender },
		Logger:  slog.New(slog.NewTextHandler(f.logs, nil)),
		Now:     f.clock.Now,
		Backoff: func(int) time.Duration { return time.Minute },
	}
	return f
}

// queue renders the default email for code and puts it in the outbox.
func (f *workerFixture) queue(t *testing.T, id, code string, ttl time.Duration) {
	t.Helper()
	e, err := RenderEmail(emailConn(nil), nil, EmailVars{Code: code, Send: "code", ApplicationName: "My App", Email: "ann@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := f.w.Sealer.Seal(e)
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	f.st.add(t, store.OutboxMessage{ID: id, Kind: KindEmail, Recipient: e.To, Payload: payload, NotAfter: now.Add(ttl), NextAttempt: now, CreatedAt: now})
}

func (f *workerFixture) status(t *testing.T, id string) store.OutboxMessage {
	t.Helper()
	m, err := f.st.OutboxMessage(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func smtpSenderFor(t *testing.T, host string, port int) *SMTPSender {
	return newSender(t, &tenant.EmailProvider{Credentials: tenant.EmailCredentials{SMTPHost: host, SMTPPort: port}}, SMTPOptions{Timeout: 2 * time.Second})
}

func TestWorker_SendsOverSMTPAndCompletes(t *testing.T) {
	ts := startSMTP(t, smtpConfig{})
	f := newWorker(t, smtpSenderFor(t, ts.Host, ts.Port))
	f.queue(t, "m1", "483920", 3*time.Minute)
	f.queue(t, "m2", "112233", 3*time.Minute)

	sent, err := f.w.RunOnce(context.Background())
	if err != nil || sent != 2 {
		t.Fatalf("RunOnce = %d, %v", sent, err)
	}
	got := ts.wait(t, 2)
	codes := ""
	for _, r := range got {
		m := parseMail(t, r.Data)
		codes += m.Text + m.HTML
		if m.Subject != "Welcome to My App" {
			t.Errorf("subject %q", m.Subject)
		}
	}
	for _, code := range []string{"483920", "112233"} {
		if !strings.Contains(codes, code) {
			t.Errorf("code %s not delivered", code)
		}
	}
	for _, id := range []string{"m1", "m2"} {
		if m := f.status(t, id); m.Status != store.OutboxSent || m.Payload != nil {
			t.Errorf("%s: status %q, payload kept: %v", id, m.Status, m.Payload != nil)
		}
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "message sent") || !strings.Contains(logs, "id=m1") {
		t.Errorf("no sent line in logs:\n%s", logs)
	}
	if strings.Contains(logs, "483920") || strings.Contains(logs, "112233") {
		t.Errorf("a code reached the logs:\n%s", logs)
	}
}

func TestWorker_RetriesWhileServerIsDownThenDelivers(t *testing.T) {
	port := closedPort(t)
	f := newWorker(t, smtpSenderFor(t, "127.0.0.1", port))
	var attempts []int
	f.w.Backoff = func(a int) time.Duration { attempts = append(attempts, a); return time.Duration(a) * 10 * time.Second }
	f.queue(t, "m1", "483920", 10*time.Minute)

	// Two failed attempts, each rescheduled by the backoff.
	for i := 1; i <= 2; i++ {
		if sent, err := f.w.RunOnce(context.Background()); sent != 0 || err != nil {
			t.Fatalf("attempt %d: RunOnce = %d, %v", i, sent, err)
		}
		m := f.status(t, "m1")
		if m.Status != store.OutboxPending || m.Attempts != i || m.LastError == "" {
			t.Fatalf("after attempt %d: %+v", i, m)
		}
		if want := f.clock.Now().Add(time.Duration(i) * 10 * time.Second); !m.NextAttempt.Equal(want) {
			t.Fatalf("next attempt %v, want %v", m.NextAttempt, want)
		}
		// Not due yet: nothing is tried.
		if sent, _ := f.w.RunOnce(context.Background()); sent != 0 || f.status(t, "m1").Attempts != i {
			t.Fatal("retried before the backoff elapsed")
		}
		f.clock.Advance(time.Duration(i) * 10 * time.Second)
	}
	if fmt.Sprint(attempts) != "[1 2]" {
		t.Errorf("backoff called with %v", attempts)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "send failed") || strings.Contains(logs, "483920") {
		t.Errorf("logs:\n%s", logs)
	}

	ts := startSMTP(t, smtpConfig{addr: fmt.Sprintf("127.0.0.1:%d", port)})
	if sent, err := f.w.RunOnce(context.Background()); sent != 1 || err != nil {
		t.Fatalf("after the server came up: RunOnce = %d, %v", sent, err)
	}
	m := parseMail(t, ts.wait(t, 1)[0].Data)
	if !strings.Contains(m.Text, "483920") {
		t.Errorf("text %q", m.Text)
	}
	if s := f.status(t, "m1"); s.Status != store.OutboxSent {
		t.Errorf("status %q", s.Status)
	}
}

// recordEvents makes the worker's tenant log events land in the returned
// function's answer.
func (f *workerFixture) recordEvents() func() []store.Event {
	var (
		mu     sync.Mutex
		events []store.Event
	)
	f.w.Events = func(_ context.Context, e store.Event) error {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
		return nil
	}
	return func() []store.Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]store.Event(nil), events...)
	}
}

func TestWorker_GivesUpAfterMaxAttempts(t *testing.T) {
	f := newWorker(t, smtpSenderFor(t, "127.0.0.1", closedPort(t)))
	f.w.MaxAttempts = 3
	events := f.recordEvents()
	f.queue(t, "m1", "483920", time.Hour)
	for range 3 {
		if _, err := f.w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Minute)
	}
	m := f.status(t, "m1")
	if m.Status != store.OutboxFailed || m.Attempts != 3 || m.Payload != nil {
		t.Fatalf("%+v", m)
	}
	if !strings.Contains(f.logs.String(), "give_up=true") {
		t.Errorf("logs:\n%s", f.logs.String())
	}
	// One fn event, for the message given up on (not for the retries),
	// naming it and its recipient, never the code or the provider's answer.
	ev := events()
	if len(ev) != 1 || ev[0].Type != "fn" || ev[0].Identifier != "ann@example.test" ||
		string(ev[0].Details) != `{"attempts":3,"kind":"email","message_id":"m1"}` {
		t.Fatalf("events = %+v", ev)
	}
	if strings.Contains(ev[0].Description, "483920") || strings.Contains(string(ev[0].Details), "483920") ||
		strings.Contains(ev[0].Description, "127.0.0.1") {
		t.Errorf("the fn event holds the code or the provider's answer: %+v", ev[0])
	}
}

func TestWorker_NeverSendsAnExpiredCode(t *testing.T) {
	ts := startSMTP(t, smtpConfig{})
	f := newWorker(t, smtpSenderFor(t, ts.Host, ts.Port))
	f.queue(t, "m1", "483920", 3*time.Minute)
	f.clock.Advance(3 * time.Minute)

	if sent, err := f.w.RunOnce(context.Background()); sent != 0 || err != nil {
		t.Fatalf("RunOnce = %d, %v", sent, err)
	}
	if m := f.status(t, "m1"); m.Status != store.OutboxExpired {
		t.Errorf("status %q", m.Status)
	}
	if n := len(ts.messages()); n != 0 {
		t.Errorf("%d messages sent", n)
	}
}

func TestWorker_UnreadablePayloadFailsAtOnce(t *testing.T) {
	f := newWorker(t, LogSender{Logger: slog.New(slog.DiscardHandler)})
	events := f.recordEvents()
	now := f.clock.Now()
	f.st.add(t, store.OutboxMessage{ID: "bad", Kind: KindEmail, Payload: []byte("not sealed"), NotAfter: now.Add(time.Hour), NextAttempt: now})
	f.st.add(t, store.OutboxMessage{ID: "sms", Kind: "carrier-pigeon", Payload: []byte("x"), NotAfter: now.Add(time.Hour), NextAttempt: now})
	if sent, err := f.w.RunOnce(context.Background()); sent != 0 || err != nil {
		t.Fatalf("RunOnce = %d, %v", sent, err)
	}
	for _, id := range []string{"bad", "sms"} {
		if m := f.status(t, id); m.Status != store.OutboxFailed || m.Attempts != 1 {
			t.Errorf("%s: %+v", id, m)
		}
	}
	if ev := events(); len(ev) != 2 || ev[0].Type != "fn" || ev[1].Type != "fn" ||
		!strings.Contains(ev[0].Description, "permanent failure") {
		t.Errorf("events = %+v, want two fn for permanent failures", ev)
	}
}

func TestWorker_SenderIsPickedPerBatch(t *testing.T) {
	ts := startSMTP(t, smtpConfig{})
	f := newWorker(t, nil)
	var current EmailSender = LogSender{Logger: slog.New(slog.DiscardHandler)}
	var mu sync.Mutex
	f.w.Sender = func() EmailSender { mu.Lock(); defer mu.Unlock(); return current }

	f.queue(t, "m1", "111111", time.Hour)
	if sent, _ := f.w.RunOnce(context.Background()); sent != 1 {
		t.Fatal("first message not sent")
	}
	mu.Lock()
	current = smtpSenderFor(t, ts.Host, ts.Port)
	mu.Unlock()
	f.queue(t, "m2", "222222", time.Hour)
	if sent, _ := f.w.RunOnce(context.Background()); sent != 1 {
		t.Fatal("second message not sent")
	}
	got := ts.wait(t, 1)
	if m := parseMail(t, got[0].Data); !strings.Contains(m.Text, "222222") {
		t.Errorf("SMTP got %q", m.Text)
	}
}

func TestWorker_KickWakesRunAtOnce(t *testing.T) {
	ts := startSMTP(t, smtpConfig{})
	f := newWorker(t, smtpSenderFor(t, ts.Host, ts.Port))
	f.w.Now = nil // real time
	f.w.PollInterval = time.Hour

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.w.Run(ctx) }()

	time.Sleep(50 * time.Millisecond) // Run has looked once and sleeps for an hour
	f.clock.Set(time.Now())
	f.queue(t, "m1", "483920", time.Minute)
	f.w.Kick()
	f.w.Kick() // never blocks
	ts.wait(t, 1)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	if m := f.status(t, "m1"); m.Status != store.OutboxSent {
		t.Errorf("status %q", m.Status)
	}
}

func TestWorker_RunNeedsItsParts(t *testing.T) {
	if err := (&Worker{}).Run(context.Background()); err == nil {
		t.Fatal("no error")
	}
}

func TestDefaultBackoff_GrowsAndIsCapped(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 9: 256 * time.Second, 10: 5 * time.Minute, 50: 5 * time.Minute} {
		for range 20 {
			if d := DefaultBackoff(attempt); d < want/2 || d >= want {
				t.Fatalf("attempt %d: %v not in [%v, %v)", attempt, d, want/2, want)
			}
		}
	}
}

// countingMetrics records what the worker reports, by call and provider.
type countingMetrics struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingMetrics) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[k]++
}
func (c *countingMetrics) MessageSent(p string)    { c.add("sent " + p) }
func (c *countingMetrics) MessageRetried(p string) { c.add("retried " + p) }
func (c *countingMetrics) MessageFailed(p string)  { c.add("failed " + p) }

func TestWorker_CountsRetriesAndTheMessageGivenUpByProviderKind(t *testing.T) {
	f := newWorker(t, smtpSenderFor(t, "127.0.0.1", closedPort(t)))
	f.w.MaxAttempts = 3
	m := &countingMetrics{}
	f.w.Metrics = m
	f.queue(t, "m1", "483920", time.Hour)
	for range 3 {
		if _, err := f.w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Minute)
	}
	if want := map[string]int{"retried smtp": 2, "failed smtp": 1}; !maps.Equal(m.n, want) {
		t.Errorf("counted %v, want %v", m.n, want)
	}
}

func TestProviderKind_NamesEverySenderProvidersMakes(t *testing.T) {
	p := &Providers{}
	for _, c := range []struct {
		sender any
		want   string
	}{
		{p.Email(nil), KindLog},
		{p.Email(&tenant.EmailProvider{Name: "smtp", Credentials: tenant.EmailCredentials{SMTPHost: "127.0.0.1", SMTPPort: 25}}), KindSMTP},
		{p.SMS(tenant.ConnectionOptions{}), KindLog},
		{p.SMS(tenant.ConnectionOptions{TwilioSID: "AC1", TwilioToken: "t"}), KindTwilio},
		{p.SMS(tenant.ConnectionOptions{GatewayURL: "http://127.0.0.1:1/sms"}), KindGateway},
		{p.SMS(tenant.ConnectionOptions{TwilioSID: "AC1"}), KindMisconfigured},
		{nil, "none"},
	} {
		if got := ProviderKind(c.sender); got != c.want {
			t.Errorf("ProviderKind(%T) = %q, want %q", c.sender, got, c.want)
		}
	}
	p.Close()
}
