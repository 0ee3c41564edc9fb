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
	"sync"
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
	// Timeout bounds dialling and, separately, each message's conversation.
	// Default 15s.
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

	// MaxIdle is how many open sessions are kept between sends. Default
	// 16; the worker sets it to its concurrency, so that every sender it
	// runs finds a session open.
	MaxIdle int
	// IdleTimeout closes a session that has not sent for this long, before
	// the server does it for us. Default 30s.
	IdleTimeout time.Duration
	// MaxPerSession is how many messages one session sends before it is
	// closed and a new one dialled; servers limit it (Exchange: 100 by
	// default). Default 100.
	MaxPerSession int
}

// SMTPSender sends email through the tenant's SMTP server
// (emailProvider.credentials). It keeps SMTP sessions open and sends many
// messages over each: a send takes an idle session, or dials one, and puts
// it back when it is done. It is safe for concurrent use; each concurrent
// send has a session of its own.
type SMTPSender struct {
	host string
	port int
	opts SMTPOptions
	// client holds the configuration (TLS, AUTH, timeouts) every session
	// is dialled with; sessions are its smtp.Clients.
	client *gomail.Client

	mu     sync.Mutex
	idle   []*smtpSession // oldest first
	closed bool
}

// smtpSession is one open SMTP connection, EHLO, STARTTLS and AUTH done.
type smtpSession struct {
	c         *gosmtp.Client
	sent      int
	idleSince time.Time
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
	opts.Timeout = orDefault(opts.Timeout, 15*time.Second)
	opts.MaxIdle = orDefault(opts.MaxIdle, 16)
	opts.IdleTimeout = orDefault(opts.IdleTimeout, 30*time.Second)
	opts.MaxPerSession = orDefault(opts.MaxPerSession, 100)
	if opts.TLSConfig == nil {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		opts.TLSConfig = opts.TLSConfig.Clone()
	}
	if opts.TLSConfig.ServerName == "" {
		opts.TLSConfig.ServerName = c.SMTPHost
	}
	options := []gomail.Option{
		gomail.WithPort(port),
		gomail.WithTimeout(opts.Timeout),
		gomail.WithTLSConfig(opts.TLSConfig),
	}
	switch {
	case port == 465: // implicit TLS ("SMTPS")
		options = append(options, gomail.WithSSL())
	case opts.RequireTLS:
		options = append(options, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		options = append(options, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if opts.HELO != "" {
		options = append(options, gomail.WithHELO(opts.HELO))
	}
	if c.SMTPUser != "" {
		options = append(options, gomail.WithSMTPAuthCustom(&negotiatedAuth{
			user: c.SMTPUser, pass: c.SMTPPass, host: c.SMTPHost, allowInsecure: opts.AllowInsecureAuth,
		}))
	}
	client, err := gomail.NewClient(c.SMTPHost, options...)
	if err != nil {
		return nil, fmt.Errorf("delivery: smtp %s: %w", net.JoinHostPort(c.SMTPHost, strconv.Itoa(port)), err)
	}
	return &SMTPSender{host: c.SMTPHost, port: port, opts: opts, client: client}, nil
}

// Addr is the host:port the sender talks to.
func (s *SMTPSender) Addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// SendEmail sends e as multipart/alternative (text, then HTML) over an open
// session, or a new one. A session the server closed while it was idle
// fails its NOOP before anything is sent, and the message goes over a new
// session instead. ctx bounds the wait for a session and the dial; once
// the conversation has begun, Timeout bounds it.
func (s *SMTPSender) SendEmail(ctx context.Context, e Email) error {
	msg, err := s.message(e)
	if err != nil {
		return err
	}
	for {
		sess, reused, err := s.take(ctx)
		if err != nil {
			return fmt.Errorf("delivery: smtp %s: %w", s.Addr(), err)
		}
		err = s.client.SendWithSMTPClient(sess.c, msg)
		if msg.IsDelivered() {
			// Accepted. An error after that (the RSET that readies the
			// session for the next message) is the session's, not the
			// message's: sending it again would deliver it twice.
			sess.sent++
			if err != nil {
				s.discard(sess)
			} else {
				s.put(sess)
			}
			return nil
		}
		s.discard(sess)
		var se *gomail.SendError
		if reused && errors.As(err, &se) && se.Reason == gomail.ErrConnCheck && ctx.Err() == nil {
			continue // a stale session; nothing was sent over it
		}
		return fmt.Errorf("delivery: smtp %s: %w", s.Addr(), err)
	}
}

// take returns an idle session, newest first, or dials a new one.
func (s *SMTPSender) take(ctx context.Context) (sess *smtpSession, reused bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	var stale []*smtpSession
	cut := 0
	for cut < len(s.idle) && time.Since(s.idle[cut].idleSince) > s.opts.IdleTimeout {
		cut++
	}
	stale, s.idle = append(stale, s.idle[:cut]...), s.idle[cut:]
	if n := len(s.idle); n > 0 {
		sess, s.idle = s.idle[n-1], s.idle[:n-1]
	}
	s.mu.Unlock()
	for _, x := range stale {
		s.quit(x)
	}
	if sess != nil {
		return sess, true, nil
	}
	c, err := s.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, false, err
	}
	return &smtpSession{c: c}, false, nil
}

// put keeps sess for the next send, unless it has sent its share or the
// pool is full or closed.
func (s *SMTPSender) put(sess *smtpSession) {
	if sess.sent >= s.opts.MaxPerSession {
		s.quit(sess)
		return
	}
	sess.idleSince = time.Now()
	s.mu.Lock()
	if s.closed || len(s.idle) >= s.opts.MaxIdle {
		s.mu.Unlock()
		s.quit(sess)
		return
	}
	s.idle = append(s.idle, sess)
	s.mu.Unlock()
}

// quit ends a session politely.
func (s *SMTPSender) quit(sess *smtpSession) { _ = s.client.CloseWithSMTPClient(sess.c) }

// discard drops a session in an unknown state without a word.
func (s *SMTPSender) discard(sess *smtpSession) { _ = sess.c.Close() }

// Close ends the idle sessions; sessions in use end when their send does.
// The sender still works afterwards, one session per message.
func (s *SMTPSender) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle, s.closed = nil, true
	s.mu.Unlock()
	for _, sess := range idle {
		s.quit(sess)
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
