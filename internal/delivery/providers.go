package delivery

import (
	"log/slog"
	"sync"

	"github.com/sesame-id/sesame/internal/tenant"
)

// Providers picks the sender for what the tenant configures: its email
// provider for email, an sms connection's options for SMS. It keeps the
// SMTP sender of the email provider in use, so that a tenant reload that
// leaves the provider as it was keeps the sender (and its connections).
// The zero value is ready to use; it is safe for concurrent use.
type Providers struct {
	SMTPOptions SMTPOptions  // of every SMTP sender
	SMSConfig   SMSConfig    // of every SMS sender; its Logger defaults to Logger
	Logger      *slog.Logger // development delivery and provider problems; nil: slog.Default()

	mu      sync.Mutex
	smtpFor smtpKey
	smtp    EmailSender // *SMTPSender, or failing for a misconfigured provider
}

// smtpKey is what an SMTP sender is made from.
type smtpKey struct {
	name  string
	creds tenant.EmailCredentials
}

// Email returns the sender for the tenant's email provider ep: SMTP when a
// provider is configured and enabled, else development delivery to the log.
// A provider that cannot be used (no host, not smtp) gives a sender whose
// every send fails, so messages stay queued until it is fixed; the problem
// is logged once per configuration.
func (p *Providers) Email(ep *tenant.EmailProvider) EmailSender {
	if ep == nil || (ep.Enabled != nil && !*ep.Enabled) {
		return LogSender{Logger: p.logger()}
	}
	key := smtpKey{name: ep.Name, creds: ep.Credentials}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.smtp == nil || p.smtpFor != key {
		p.closeSMTP() // the old provider's sessions are of no more use
		s, err := NewSMTPSender(ep, p.SMTPOptions)
		if err != nil {
			p.logger().Error("email provider is misconfigured; messages stay queued", "err", err)
			p.smtp, p.smtpFor = failing{err}, key
			return p.smtp
		}
		p.smtp, p.smtpFor = s, key
	}
	return p.smtp
}

// Close ends the SMTP sessions kept open. Providers still work afterwards.
func (p *Providers) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeSMTP()
	p.smtp = nil
}

func (p *Providers) closeSMTP() {
	if s, ok := p.smtp.(*SMTPSender); ok {
		_ = s.Close()
	}
}

// SMS returns the sender an sms connection's options select (see
// NewSMSSender). SMS senders hold no connections of their own, so a new
// one per message costs nothing.
func (p *Providers) SMS(opts tenant.ConnectionOptions) SMSSender {
	cfg := p.SMSConfig
	if cfg.Logger == nil {
		cfg.Logger = p.logger()
	}
	return NewSMSSender(opts, cfg)
}

func (p *Providers) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.Default()
	}
	return p.Logger
}

// Provider kinds, the metrics' names for what sends a message.
const (
	KindSMTP          = "smtp"
	KindTwilio        = "twilio"
	KindGateway       = "gateway"
	KindLog           = "log" // development delivery
	KindMisconfigured = "misconfigured"
)

// ProviderKind names the kind of a sender that Providers returned: smtp,
// twilio, gateway, log or misconfigured (none for no sender, other for a
// sender of its own, as tests use).
func ProviderKind(sender any) string {
	switch sender.(type) {
	case nil:
		return "none"
	case *SMTPSender:
		return KindSMTP
	case *twilioSender:
		return KindTwilio
	case *gatewaySender:
		return KindGateway
	case LogSender, *LogSender:
		return KindLog
	case failing:
		return KindMisconfigured
	default:
		return "other"
	}
}

// EmailProviderKind is the kind of sender Providers.Email picks for ep,
// without making it: log when no provider is configured or it is
// disabled, else smtp (a misconfigured one shows up as such when the worker
// tries it).
func EmailProviderKind(ep *tenant.EmailProvider) string {
	if ep == nil || (ep.Enabled != nil && !*ep.Enabled) {
		return KindLog
	}
	return KindSMTP
}
