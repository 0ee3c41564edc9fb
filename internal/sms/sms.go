// Package sms sends the one-time codes of Auth0-compatible sms connections:
// it validates and normalises phone numbers, renders the connection's
// message template (md_with_macros or Liquid) and hands the message to
// Twilio, to a custom SMS gateway, or, in development, to the log.
//
// Unlike email, an SMS is sent within the /passwordless/start request, so a
// provider failure reaches the caller the way Auth0 reports it: an *Error
// with code sms_provider_error.
package sms

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sesame-id/sesame/internal/tenant"
)

// Auth0 error codes produced by this package.
const (
	CodeBadPhoneNumber = "bad.phone_number"
	CodeProviderError  = "sms_provider_error"
)

// Error is a failure the caller reports to the client as Auth0 does:
// HTTP 400 with {"error": Code, "error_description": Description}.
type Error struct {
	Code        string
	Description string

	// Err is the underlying cause (a network error, say), for logs only;
	// it is never part of the answer to the client.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s (%v)", e.Code, e.Description, e.Err)
	}
	return e.Code + ": " + e.Description
}

func (e *Error) Unwrap() error { return e.Err }

// providerError builds the sms_provider_error the caller answers 400 with.
func providerError(cause error, format string, args ...any) *Error {
	return &Error{Code: CodeProviderError, Description: fmt.Sprintf(format, args...), Err: cause}
}

// Message is one rendered SMS, ready for a Sender.
type Message struct {
	To   string // E.164, from NormalizePhone
	From string // sender as configured (options.from); empty: the connection's
	Body string

	// IP and UserAgent are those of the /passwordless/start caller; a custom
	// gateway receives them when the connection sets forward_req_info.
	IP        string
	UserAgent string
}

// Sender hands a message to an SMS provider. A provider failure is returned
// as an *Error with Code sms_provider_error; any other error is our own
// failure (misconfiguration, cancelled request) and is not the client's
// business.
type Sender interface {
	SendSMS(ctx context.Context, m Message) error
}

// Config holds the server-wide settings of the SMS senders. The zero value
// is ready to use.
type Config struct {
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

// Defaults for Config.
const (
	DefaultTwilioAPIURL   = "https://api.twilio.com"
	DefaultGatewayTimeout = 30 * time.Second
	// twilioTimeout bounds a call to Twilio, which normally answers in well
	// under a second.
	twilioTimeout = 30 * time.Second
)

// Provider names in a connection's options.provider.
const (
	ProviderTwilio  = "twilio"
	ProviderGateway = "sms_gateway"
)

func (c Config) withDefaults() Config {
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

// NewSender returns the sender an sms connection's options select, spelled
// as Auth0 spells them:
//   - provider "sms_gateway", or gateway_url set: the custom gateway;
//   - twilio_sid and twilio_token (provider empty or "twilio"): Twilio;
//   - none of provider, gateway_url, twilio_sid, twilio_token,
//     messaging_service_sid: development delivery to the log.
//
// A half-configured provider (a Twilio SID without its token, an unknown
// provider name) gives a sender whose every call fails: printing codes to
// the log is only for a connection that asks for no provider at all.
func NewSender(opts tenant.ConnectionOptions, cfg Config) Sender {
	cfg = cfg.withDefaults()
	switch {
	case opts.Provider == ProviderGateway || opts.GatewayURL != "":
		return &gatewaySender{opts: opts, cfg: cfg}
	case opts.Provider != "" && opts.Provider != ProviderTwilio:
		return misconfigured{fmt.Errorf("sms: unknown provider %q (want %q or %q)", opts.Provider, ProviderTwilio, ProviderGateway)}
	case opts.TwilioSID != "" && opts.TwilioToken != "":
		return &twilioSender{opts: opts, cfg: cfg}
	case opts.Provider != "" || opts.TwilioSID != "" || opts.TwilioToken != "" || opts.MessagingServiceSID != "":
		return misconfigured{fmt.Errorf("sms: Twilio needs both twilio_sid and twilio_token")}
	default:
		return LogSender{Logger: cfg.Logger, From: opts.From}
	}
}

// misconfigured fails every send with the configuration error it holds.
type misconfigured struct{ err error }

func (m misconfigured) SendSMS(context.Context, Message) error { return m.err }

// sender returns m's sender, falling back to the connection's from.
func sender(m Message, opts tenant.ConnectionOptions) string {
	if m.From != "" {
		return m.From
	}
	return opts.From
}
