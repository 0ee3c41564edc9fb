package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sesame-id/sesame/internal/tenant"
)

// CodeSMSProviderError is Auth0's error code for an SMS provider that
// refused or failed a message.
const CodeSMSProviderError = "sms_provider_error"

// ProviderError is an SMS provider's refusal or failure, which the caller
// reports to the client as Auth0 does: HTTP 400 with {"error":
// CodeSMSProviderError, "error_description": Description}.
type ProviderError struct {
	Description string

	// Err is the underlying cause (a network error, say), for logs only;
	// it is never part of the answer to the client.
	Err error
}

func (e *ProviderError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s (%v)", CodeSMSProviderError, e.Description, e.Err)
	}
	return CodeSMSProviderError + ": " + e.Description
}

func (e *ProviderError) Unwrap() error { return e.Err }

// providerError builds the ProviderError the caller answers 400 with.
func providerError(cause error, format string, args ...any) *ProviderError {
	return &ProviderError{Description: fmt.Sprintf(format, args...), Err: cause}
}

// SMS is one rendered text message, ready for an SMSSender.
type SMS struct {
	To   string // E.164, from sms.NormalizePhone
	From string // sender as configured (options.from); empty: the connection's
	Body string

	// IP and UserAgent are those of the /passwordless/start caller; a custom
	// gateway receives them when the connection sets forward_req_info.
	IP        string
	UserAgent string
}

// SMSSender hands a message to an SMS provider. A provider failure is
// returned as a *ProviderError; any other error is our own failure
// (misconfiguration, cancelled request) and is not the client's business.
type SMSSender interface {
	SendSMS(ctx context.Context, m SMS) error
}

// SMSConfig holds the server-wide settings of the SMS senders. The zero
// value is ready to use.
type SMSConfig struct {
	// TwilioAPIURL is the base of Twilio's REST API. Tests and
	// Twilio-compatible services point it elsewhere.
	TwilioAPIURL string // default DefaultTwilioAPIURL
	// GatewayTimeout bounds a call to a custom SMS gateway (Auth0: 30 s).
	GatewayTimeout time.Duration // default DefaultGatewayTimeout
	// HTTPClient makes the provider calls; timeouts come from the
	// context of each call, so its own Timeout may stay zero.
	HTTPClient *http.Client // default: a client with no timeout of its own
	Logger     *slog.Logger // development delivery writes here; default slog.Default()
}

// Defaults for SMSConfig.
const (
	DefaultTwilioAPIURL   = "https://api.twilio.com"
	DefaultGatewayTimeout = 30 * time.Second
	// twilioTimeout bounds a call to Twilio, which normally answers in well
	// under a second, unless the connection's options.sesame.provider_timeout
	// says otherwise.
	twilioTimeout = 30 * time.Second
)

// SMS provider names in a connection's options.provider.
const (
	ProviderTwilio  = "twilio"
	ProviderGateway = "sms_gateway"
)

func (c SMSConfig) withDefaults() SMSConfig {
	if c.TwilioAPIURL == "" {
		c.TwilioAPIURL = DefaultTwilioAPIURL
	}
	if c.GatewayTimeout <= 0 {
		c.GatewayTimeout = DefaultGatewayTimeout
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// NewSMSSender returns the sender an sms connection's options select,
// spelled as Auth0 spells them:
//   - provider "sms_gateway", or gateway_url set: the custom gateway;
//   - twilio_sid and twilio_token (provider empty or "twilio"): Twilio;
//   - none of provider, gateway_url, twilio_sid, twilio_token,
//     messaging_service_sid: development delivery to the log.
//
// A half-configured provider (a Twilio SID without its token, an unknown
// provider name) gives a sender whose every call fails: printing codes to
// the log is only for a connection that asks for no provider at all.
func NewSMSSender(opts tenant.ConnectionOptions, cfg SMSConfig) SMSSender {
	cfg = cfg.withDefaults()
	switch {
	case opts.Provider == ProviderGateway || opts.GatewayURL != "":
		return &gatewaySender{opts: opts, cfg: cfg}
	case opts.Provider != "" && opts.Provider != ProviderTwilio:
		return failing{fmt.Errorf("delivery: sms: unknown provider %q (want %q or %q)", opts.Provider, ProviderTwilio, ProviderGateway)}
	case opts.TwilioSID != "" && opts.TwilioToken != "":
		return &twilioSender{opts: opts, cfg: cfg}
	case opts.Provider != "" || opts.TwilioSID != "" || opts.TwilioToken != "" || opts.MessagingServiceSID != "":
		return failing{fmt.Errorf("delivery: sms: Twilio needs both twilio_sid and twilio_token")}
	default:
		return LogSender{Logger: cfg.Logger, From: opts.From}
	}
}

// failing is a misconfigured provider: it fails every send, email or SMS,
// with the configuration error it holds.
type failing struct{ err error }

func (f failing) SendSMS(context.Context, SMS) error     { return f.err }
func (f failing) SendEmail(context.Context, Email) error { return f.err }

// smsFrom returns m's sender, falling back to the connection's from.
func smsFrom(m SMS, opts tenant.ConnectionOptions) string {
	if m.From != "" {
		return m.From
	}
	return opts.From
}
