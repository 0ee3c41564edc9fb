package delivery

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/sesame-id/sesame/internal/tenant"
)

// EmailSender hands one email to whatever carries it.
type EmailSender interface {
	SendEmail(ctx context.Context, e Email) error
}

// SMTPOptions tune an SMTPSender. The zero value is what production wants.
type SMTPOptions struct {
	// Timeout bounds dialling and the whole SMTP conversation. Default 15s.
	Timeout time.Duration
	// TLSConfig is used for STARTTLS and for implicit TLS on port 465.
	// Nil: the system roots. An empty ServerName is set to the SMTP host.
	TLSConfig *tls.Config
	// RequireTLS refuses to send when the server does not offer STARTTLS.
	// By default STARTTLS is used whenever offered (and then must succeed:
	// a failed handshake is an error, never a silent downgrade).
	RequireTLS bool
	// AllowInsecureAuth permits PLAIN and LOGIN over an unencrypted
	// connection to a host other than localhost.
	AllowInsecureAuth bool
	// HELO is the name given in EHLO. Default "localhost".
	HELO string
}

// SMTPSender sends email through the tenant's SMTP server
// (emailProvider.credentials). It is safe for concurrent use: each send
// is its own SMTP session.
type SMTPSender struct {
	host string
	port int
	user string
	pass string
	opts SMTPOptions
}

// DefaultSMTPPort is used when the provider does not name a port.
const DefaultSMTPPort = 587

// NewSMTPSender returns a sender for provider p.
func NewSMTPSender(p *tenant.EmailProvider, opts SMTPOptions) (*SMTPSender, error) {
	if p == nil {
		return nil, errors.New("delivery: no email provider")
	}
	if p.Name != "" && p.Name != "smtp" {
		return nil, fmt.Errorf("delivery: email provider %q is not supported (only smtp)", p.Name)
	}
	c := p.Credentials
	if c.SMTPHost == "" {
		return nil, errors.New("delivery: email provider has no smtp_host")
	}
	port := c.SMTPPort
	if port == 0 {
		port = DefaultSMTPPort
	}
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("delivery: smtp_port %d is out of range", port)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.TLSConfig == nil {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		opts.TLSConfig = opts.TLSConfig.Clone()
	}
	if opts.TLSConfig.ServerName == "" {
		opts.TLSConfig.ServerName = c.SMTPHost
	}
	return &SMTPSender{host: c.SMTPHost, port: port, user: c.SMTPUser, pass: c.SMTPPass, opts: opts}, nil
}

// Addr is the host:port the sender talks to.
func (s *SMTPSender) Addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// SendEmail sends e as multipart/alternative (text, then HTML).
func (s *SMTPSender) SendEmail(ctx context.Context, e Email) error {
	msg, err := s.message(e)
	if err != nil {
		return err
	}
	options := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.opts.Timeout),
		gomail.WithTLSConfig(s.opts.TLSConfig),
	}
	switch {
	case s.port == 465: // implicit TLS ("SMTPS")
		options = append(options, gomail.WithSSL())
	case s.opts.RequireTLS:
		options = append(options, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		options = append(options, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.opts.HELO != "" {
		options = append(options, gomail.WithHELO(s.opts.HELO))
	}
	if s.user != "" {
		options = append(options, gomail.WithSMTPAuthCustom(&negotiatedAuth{
			user: s.user, pass: s.pass, host: s.host, allowInsecure: s.opts.AllowInsecureAuth,
		}))
	}
	client, err := gomail.NewClient(s.host, options...)
	if err != nil {
		return fmt.Errorf("delivery: smtp %s: %w", s.Addr(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("delivery: smtp %s: %w", s.Addr(), err)
	}
	return nil
}

func (s *SMTPSender) message(e Email) (*gomail.Msg, error) {
	from, err := mail.ParseAddress(e.From)
	if err != nil {
		return nil, fmt.Errorf("delivery: from address %q: %w", e.From, err)
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(from.String()); err != nil {
		return nil, fmt.Errorf("delivery: from address %q: %w", e.From, err)
	}
	if err := msg.To(e.To); err != nil {
		return nil, fmt.Errorf("delivery: recipient: %w", err)
	}
	msg.Subject(e.Subject)
	msg.SetDate()
	msg.SetMessageIDWithValue(messageID(from.Address))
	// Ask vacation responders not to answer a login email.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	text := e.Text
	if text == "" {
		text = HTMLToText(e.HTML)
	}
	msg.SetBodyString(gomail.TypeTextPlain, text)
	if e.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	}
	return msg, nil
}

// messageID makes a Message-ID in the sender's domain, which spam filters
// like better than the host name of whatever machine runs Sesame.
func messageID(fromAddr string) string {
	domain := "localhost"
	if at := strings.LastIndexByte(fromAddr, '@'); at >= 0 && at < len(fromAddr)-1 {
		domain = fromAddr[at+1:]
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "@" + domain
}

// negotiatedAuth picks the SMTP AUTH mechanism when the server has said
// what it offers and whether the connection is encrypted (after STARTTLS).
// go-mail's own auto-discovery never chooses PLAIN or LOGIN without TLS,
// not even to localhost, which leaves local relays unusable; and
// choosing PLAIN up front breaks servers that only offer LOGIN.
type negotiatedAuth struct {
	user, pass, host string
	allowInsecure    bool
	inner            gosmtp.Auth
}

func (a *negotiatedAuth) Start(server *gosmtp.ServerInfo) (string, []byte, error) {
	plainOK := server.TLS || a.allowInsecure || isLocalhost(server.Name)
	offers := func(mech string) bool {
		return slices.ContainsFunc(server.Auth, func(m string) bool { return strings.EqualFold(m, mech) })
	}
	switch {
	case offers("SCRAM-SHA-256"):
		a.inner = gosmtp.ScramSHA256Auth(a.user, a.pass)
	case offers("SCRAM-SHA-1"):
		a.inner = gosmtp.ScramSHA1Auth(a.user, a.pass)
	case plainOK && offers("PLAIN"):
		a.inner = gosmtp.PlainAuth("", a.user, a.pass, a.host, true)
	case plainOK && offers("LOGIN"):
		a.inner = gosmtp.LoginAuth(a.user, a.pass, a.host, true)
	case offers("CRAM-MD5"):
		a.inner = gosmtp.CRAMMD5Auth(a.user, a.pass)
	case !plainOK && (offers("PLAIN") || offers("LOGIN")):
		return "", nil, errors.New("refusing to send the SMTP password over an unencrypted connection " +
			"(the server does not offer STARTTLS)")
	default:
		return "", nil, fmt.Errorf("no supported SMTP AUTH mechanism among %q", server.Auth)
	}
	return a.inner.Start(server)
}

func (a *negotiatedAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.inner.Next(fromServer, more)
}

func isLocalhost(name string) bool {
	if name == "localhost" {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}
