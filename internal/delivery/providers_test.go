package delivery

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/sesame-id/sesame/internal/tenant"
)

func TestProviders_EmailPicksTheLogWithoutAnEnabledProvider(t *testing.T) {
	off := false
	p := &Providers{}
	for name, ep := range map[string]*tenant.EmailProvider{
		"none":     nil,
		"disabled": {Name: "smtp", Enabled: &off, Credentials: tenant.EmailCredentials{SMTPHost: "mail.example.test"}},
	} {
		if _, ok := p.Email(ep).(LogSender); !ok {
			t.Errorf("%s: Email = %T, want LogSender", name, p.Email(ep))
		}
	}
}

func TestProviders_EmailKeepsTheSMTPSenderUntilTheProviderChanges(t *testing.T) {
	p := &Providers{}
	ep := &tenant.EmailProvider{Name: "smtp", Credentials: tenant.EmailCredentials{SMTPHost: "mail.example.test", SMTPPort: 2525}}
	first, ok := p.Email(ep).(*SMTPSender)
	if !ok {
		t.Fatalf("Email = %T, want *SMTPSender", p.Email(ep))
	}
	same := *ep // a tenant reload makes a new, equal provider
	if p.Email(&same) != first {
		t.Fatal("an equal provider got a new sender")
	}
	changed := same
	changed.Credentials.SMTPPort = 2526
	if s := p.Email(&changed); s == first || s.(*SMTPSender).Addr() != "mail.example.test:2526" {
		t.Fatalf("a changed provider got %v", s)
	}
}

func TestProviders_MisconfiguredEmailProviderFailsEverySendAndIsLoggedOnce(t *testing.T) {
	var buf bytes.Buffer
	p := &Providers{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	ep := &tenant.EmailProvider{Name: "mandrill", Credentials: tenant.EmailCredentials{SMTPHost: "mail.example.test"}}
	for range 3 {
		if err := p.Email(ep).SendEmail(context.Background(), testEmail); err == nil || !strings.Contains(err.Error(), "mandrill") {
			t.Fatalf("SendEmail error = %v, want the provider's problem", err)
		}
	}
	if n := strings.Count(buf.String(), "misconfigured"); n != 1 {
		t.Fatalf("logged %d times, want once:\n%s", n, buf.String())
	}
}

func TestProviders_SMSLogsToTheProvidersLogger(t *testing.T) {
	var buf bytes.Buffer
	p := &Providers{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	if err := p.SMS(tenant.ConnectionOptions{}).SendSMS(context.Background(), SMS{To: "+16502530000", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "no SMS provider configured") {
		t.Fatalf("log = %q", buf.String())
	}
}
