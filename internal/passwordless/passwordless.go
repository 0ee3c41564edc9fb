// Package passwordless starts and verifies passwordless transactions: it
// validates identifiers, makes one-time codes, stores only their HMAC, queues
// the message in the same transaction, and verifies a code atomically.
package passwordless

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/sesame-id/sesame/internal/delivery"
	"github.com/sesame-id/sesame/internal/eventlog"
	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/sms"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// MaxTries is how many wrong guesses a code survives.
const MaxTries = 3

// Store is the part of the store the service uses.
type Store interface {
	CreateCode(ctx context.Context, code store.Code, msg *store.OutboxMessage, event *store.Event, takes ...store.Take) ([]store.Bucket, error)
	GuessCode(ctx context.Context, connection, identifier string, codeHMACs [][]byte, now time.Time, consume bool, g store.Guard) (store.Guessed, error)
	TakeTokens(ctx context.Context, takes []store.Take, now time.Time) ([]store.Bucket, error)
	UserByIdentifier(ctx context.Context, connection, identifier string) (store.User, error)
}

// Service runs passwordless transactions.
type Service struct {
	Issuer string // public URL with a trailing slash; magic links point here
	Store  Store
	// HMACKeys are the keys of code HMACs, from the key set outside the
	// database, the current first: new codes are HMACed under it, a guess
	// is checked under every one (so codes made before a rotation stay
	// good until they expire). Never logged.
	HMACKeys []CodeKey
	// HMACKey is the legacy key earlier versions kept in the database
	// (key id store.LegacyKeyID): with HMACKeys, only read, so that codes
	// issued before the upgrade still verify; alone, new codes use it.
	HMACKey []byte
	Sealer  *delivery.Sealer
	// Providers gives the SMS sender of a connection; nil: a zero
	// delivery.Providers (Twilio's real API, development delivery to
	// slog.Default()).
	Providers *delivery.Providers
	// Logger gets an SMS provider's refusals (never the message); nil:
	// not logged.
	Logger *slog.Logger
	// Protection is the brute-force protection of connections that have
	// options.brute_force_protection (the default).
	Protection Protection
	// Events records the tenant log events that have no transaction to
	// go in (a code check refused before the store is asked); those of a
	// start and of a code check are written in their own transaction.
	// nil drops them.
	Events func(context.Context, store.Event) error
	Now    func() time.Time
	// Admit, when set, is called before a message is queued to the outbox,
	// and may hold the request back while the outbox is behind
	// (delivery.Worker.Admit). It is called for suppressed messages too, so
	// that a start that sends nothing takes as long as one that sends.
	Admit func(ctx context.Context)
	// Queued is called after a message was committed to the outbox, to wake
	// the delivery worker. It may be nil.
	Queued func()
	// Metrics counts codes issued and checked, blocks created and SMS
	// sent; nil counts nothing.
	Metrics Metrics

	latency sendLatency
}

// Metrics is what the service reports to the metrics. No argument is ever
// an address, a number, a code or an id: connection names, channels,
// outcomes, rules and provider kinds only.
type Metrics interface {
	CodeIssued(connection, channel, send string)
	CodeChecked(connection, outcome string)
	BlockCreated(rule string)
	MessageQueued(provider string)
	MessageSent(provider string)
	MessageFailed(provider string)
}

// Protection sets the brute-force protection.
type Protection struct {
	// PairThreshold consecutive failed verifications for one identifier
	// from one IP block that pair for PairBlock (Auth0: 10).
	PairThreshold int
	PairBlock     time.Duration
	// AccountThreshold failed verifications for one identifier from any IP
	// within AccountWindow lock the identifier out of verification until
	// the window moves on. Auth0 has no such cap: an attacker with many IPs
	// could otherwise ask for fresh codes and guess on forever.
	AccountThreshold int
	AccountWindow    time.Duration
	// IPThreshold failed verifications from one IP, on any identifiers,
	// within IPWindow stop verification from that IP until the window
	// moves on (suspicious-IP throttling; the block logs limit_mu).
	IPThreshold int
	IPWindow    time.Duration
}

// DefaultProtection is the protection unless configured otherwise.
func DefaultProtection() Protection {
	return Protection{PairThreshold: 10, PairBlock: time.Hour, AccountThreshold: 30, AccountWindow: 24 * time.Hour,
		IPThreshold: 100, IPWindow: 24 * time.Hour}
}

// TakeoverBound is the most an attacker with unlimited IPs can hope for
// against one account within one AccountWindow: the chance that one of the
// guesses the server lets through is right. Each code is uniform over
// 10^length values and dies after MaxTries wrong guesses or when a newer one
// is sent, so no guess is worth more than one in (10^length - MaxTries + 1)
// (the tries already spent on a code rule out at most MaxTries - 1 values).
// Every guess is checked against the blocks and counted in the same
// transaction, so once AccountThreshold wrong guesses fall within one
// window nothing more is let through until the oldest leaves it: at most
// MaxGuesses guesses per window. Without brute-force protection there is no
// bound (1).
func TakeoverBound(length int, p Protection, protected bool) float64 {
	if !protected || p.AccountThreshold <= 0 {
		return 1
	}
	space := 1.0
	for i := 0; i < length; i++ {
		space *= 10
	}
	perGuess := 1 / (space - MaxTries + 1)
	miss := 1.0
	for i := 0; i < MaxGuesses(p); i++ {
		miss *= 1 - perGuess
	}
	return 1 - miss
}

// MaxGuesses is how many guesses at one account's codes the server lets
// through within one AccountWindow: every wrong one is counted, and the
// AccountThreshold-th locks the account.
func MaxGuesses(p Protection) int { return p.AccountThreshold }

// DescBlocked is the answer while an identifier is blocked. Auth0's text
// goes on to say an unblock email was sent; Sesame sends none, so it stops
// there.
const DescBlocked = "Your account has been blocked after multiple consecutive login attempts."

// StartRequest is a validated /passwordless/start call for an email connection.
type StartRequest struct {
	Client          *tenant.Client
	Connection      *tenant.Connection
	EmailProvider   *tenant.EmailProvider
	Email           string // as given; Start delivers only to its CanonicalEmail
	PhoneNumber     string // E.164, for sms connections
	IP, UserAgent   string // of the caller: the tenant log, and the SMS gateway's forward_req_info
	Send            string // code, link, link_ios or link_android
	AuthParams      map[string]any
	RequestLanguage string
	// LinkParams are the query parameters of the magic link besides the
	// code (client_id, connection, email and the authorization
	// parameters); used when Send is not "code".
	LinkParams url.Values
	// Takes are the rate limit tokens the start costs. They are taken in
	// the transaction that stores an email code, and before an SMS is
	// sent; when one bucket is empty nothing happens and the error is
	// store.ErrRateLimited.
	Takes []store.Take
}

// IsLink reports whether a send value asks for a magic link of any kind.
func IsLink(send string) bool { return send == "link" || send == "link_ios" || send == "link_android" }

// IsWebLink reports whether a send value asks for a link to
// /passwordless/verify_redirect, which logs in in the browser. link_ios and
// link_android ask for an app link instead (AppLinkPath).
func IsWebLink(send string) bool { return send == "link" }

// CodeMissingProperty is Auth0's error when a link_ios or link_android
// start names a client without the app it would open.
const CodeMissingProperty = "missing_property"

// AppLinkPath is the path, below the issuer, of the magic link that send
// link_ios or link_android gives, as Auth0's native SDKs expect it: an iOS
// universal link ios/<bundle identifier>/<strategy> (Lock.swift takes the
// link whose path holds the app's bundle identifier and reads its code
// query parameter; Auth0 publishes /ios/<bundle>/* in the
// apple-app-site-association file), an Android app link
// android/<package name>/<strategy> (Lock.Android's intent filters match
// /android/<package>/email and /android/<package>/sms, and it reads code).
// The link's query is code=<the code>, which the app presents with the
// passwordless OTP grant. A client without the app's identifier gets
// Auth0's 400 missing_property. For any other send value it returns "".
func AppLinkPath(send string, client *tenant.Client, conn *tenant.Connection) (string, error) {
	switch send {
	case "link_ios":
		bundle := client.IOSBundle()
		if bundle == "" {
			return "", errorf(fault.Invalid, CodeMissingProperty, "Missing client.mobile.ios.app_bundle_identifier is required.")
		}
		return "ios/" + bundle + "/" + conn.Strategy, nil
	case "link_android":
		pkg := client.AndroidPackage()
		if pkg == "" {
			return "", errorf(fault.Invalid, CodeMissingProperty, "Missing client.mobile.android.app_package_name is required.")
		}
		return "android/" + pkg + "/" + conn.Strategy, nil
	}
	return "", nil
}

// VerifyRedirectPath is the path of the magic link endpoint.
const VerifyRedirectPath = "passwordless/verify_redirect"

// StartResult is what /passwordless/start answers.
type StartResult struct {
	ID          string
	Email       string
	PhoneNumber string
	// Buckets answer the request's Takes, also when Start failed after
	// taking them (or was refused by one).
	Buckets []store.Bucket
}

// Start makes a new code for the address, kills the older ones and queues the
// email, all in one store transaction. With disable_signup and an unknown
// address it queues a suppressed message that is never sent, so that the
// answer and its timing do not reveal whether the address belongs to a user.
func (s *Service) Start(ctx context.Context, req StartRequest) (_ StartResult, err error) {
	ctx, span := tracer.Start(ctx, "passwordless.Start", trace.WithAttributes(
		attribute.String("sesame.connection", req.Connection.Name), attribute.String("sesame.send", req.Send)))
	defer func() { endSpan(span, err) }()
	now := s.Now()
	conn := req.Connection
	identifier := req.PhoneNumber
	if conn.Strategy != "sms" {
		// The identifier is the one address the message may go to.
		email, err := CanonicalEmail(req.Email)
		if err != nil {
			return StartResult{}, BadEmail(err)
		}
		identifier = email
	}
	id, err := NewObjectID()
	if err != nil {
		return StartResult{}, err
	}
	otp, err := NewCode(conn.Options.TOTP.Length)
	if err != nil {
		return StartResult{}, err
	}
	// A link's code keeps the link's parameters: verify_redirect takes
	// them from here, never from the request that presents the code.
	authParams, err := encodeAuthParams(req.AuthParams)
	if IsWebLink(req.Send) && conn.Strategy != "sms" {
		authParams, err = encodeLinkParams(req.LinkParams)
	}
	if err != nil {
		return StartResult{}, err
	}
	lifetime := time.Duration(conn.Options.TOTP.TimeStep) * time.Second
	key := s.issueKey()
	code := store.Code{
		ID:         id,
		Connection: conn.Name,
		Identifier: identifier,
		CodeHMAC:   codeHMAC(key.Key, conn.Name, identifier, req.Client.ClientID, otp),
		KeyID:      key.ID,
		ClientID:   req.Client.ClientID,
		Send:       req.Send,
		AuthParams: authParams,
		CreatedAt:  now,
		ExpiresAt:  now.Add(lifetime),
		MaxTries:   MaxTries,
	}

	send := true
	if conn.Options.DisableSignup {
		_, err := s.Store.UserByIdentifier(ctx, conn.Name, identifier)
		switch {
		case errors.Is(err, store.ErrNotFound):
			send = false
		case err != nil:
			return StartResult{}, fmt.Errorf("look up user: %w", err)
		}
	}

	if conn.Strategy == "sms" {
		return s.startSMS(ctx, req, code, otp, send)
	}

	// A start that sends nothing (disable_signup and an address that is no
	// user's) does exactly the work of one that sends: the same rendering
	// and sealing, the same statements and rows. Only the outbox row's kind
	// differs, and the worker drops such a row instead of sending it. The
	// answer's timing cannot tell a member from a stranger.
	var link string
	switch {
	case IsWebLink(req.Send):
		q := url.Values{}
		for k, v := range req.LinkParams {
			q[k] = v
		}
		q.Set("verification_code", otp)
		link = s.Issuer + VerifyRedirectPath + "?" + q.Encode()
	case IsLink(req.Send):
		path, err := AppLinkPath(req.Send, req.Client, conn)
		if err != nil {
			return StartResult{}, err
		}
		link = s.Issuer + path + "?" + url.Values{"code": {otp}}.Encode()
	}
	email, err := delivery.RenderEmail(conn, req.EmailProvider, delivery.EmailVars{
		Code:             otp,
		Link:             link,
		Send:             req.Send,
		ApplicationName:  req.Client.Name,
		RequestLanguage:  req.RequestLanguage,
		Email:            identifier,
		ExpiresInMinutes: max(1, int(lifetime/time.Minute)), // never promise more time than there is
	})
	if err != nil {
		return StartResult{}, fmt.Errorf("render email: %w", err)
	}
	// Exactly the identifier the code logs into, never the input.
	email.To = identifier
	payload, err := s.Sealer.Seal(email)
	if err != nil {
		return StartResult{}, fmt.Errorf("seal email: %w", err)
	}
	kind := delivery.KindEmail
	if !send {
		kind = delivery.KindSuppressed
	}
	msg := &store.OutboxMessage{
		ID:          id,
		Kind:        kind,
		Recipient:   identifier,
		Payload:     payload,
		NotAfter:    code.ExpiresAt,
		NextAttempt: now,
		Status:      store.OutboxPending,
		CreatedAt:   now,
	}
	if s.Admit != nil {
		s.Admit(ctx)
	}
	ev, err := startEvent(req, code, send)
	if err != nil {
		return StartResult{}, err
	}
	bs, err := s.Store.CreateCode(ctx, code, msg, &ev, req.Takes...)
	if err != nil {
		return StartResult{Buckets: bs}, fmt.Errorf("store code: %w", err)
	}
	if s.Metrics != nil {
		s.Metrics.CodeIssued(conn.Name, "email", sendKind(req.Send))
		if send {
			s.Metrics.MessageQueued(delivery.EmailProviderKind(req.EmailProvider))
		}
	}
	if s.Queued != nil {
		s.Queued()
	}
	return StartResult{ID: id, Email: identifier, Buckets: bs}, nil
}

// startSMS sends the code by SMS within the request, so that a provider's
// error reaches the caller as with Auth0, and stores the code only once the
// provider accepted the message: a failed send changes nothing, and an
// earlier live code stays as it was.
func (s *Service) startSMS(ctx context.Context, req StartRequest, code store.Code, otp string, send bool) (StartResult, error) {
	conn := req.Connection
	var res StartResult
	if len(req.Takes) > 0 {
		// Taken before the provider is called, which cannot be undone.
		bs, err := s.Store.TakeTokens(ctx, req.Takes, s.Now())
		res.Buckets = bs
		if err != nil {
			return res, fmt.Errorf("take tokens: %w", err)
		}
	}
	if send {
		body, err := delivery.RenderSMS(conn.Options, delivery.SMSVars{
			Code: otp, ApplicationName: req.Client.Name, PhoneNumber: code.Identifier, RequestLanguage: req.RequestLanguage,
		})
		if err != nil {
			return res, fmt.Errorf("render sms: %w", err)
		}
		began := time.Now()
		providers := s.Providers
		if providers == nil {
			providers = &delivery.Providers{}
		}
		sender := providers.SMS(conn.Options)
		err = sender.SendSMS(ctx, delivery.SMS{
			To: code.Identifier, Body: body, IP: req.IP, UserAgent: req.UserAgent,
		})
		if err == nil {
			s.latency.observe(conn.Name, time.Since(began))
		}
		if s.Metrics != nil {
			if err == nil {
				s.Metrics.MessageSent(delivery.ProviderKind(sender))
			} else {
				s.Metrics.MessageFailed(delivery.ProviderKind(sender))
			}
		}
		if err != nil {
			var pe *delivery.ProviderError
			if errors.As(err, &pe) {
				if s.Logger != nil {
					// The cause, for the operator; never the message body.
					s.Logger.Warn("sms provider refused or failed", "connection", conn.Name, "answer", pe.Description, "err", pe.Err)
				}
				// Auth0 answers a provider's refusal as a bad request.
				return res, errorf(fault.Invalid, delivery.CodeSMSProviderError, pe.Description)
			}
			return res, fmt.Errorf("send sms: %w", err)
		}
	}
	if !send {
		// Nothing is sent to a number that is no user's (disable_signup);
		// take as long as a send would, so the timing tells nothing.
		s.latency.pad(ctx, conn.Name)
	}
	ev, err := startEvent(req, code, send)
	if err != nil {
		return res, err
	}
	if _, err := s.Store.CreateCode(ctx, code, nil, &ev); err != nil {
		return res, fmt.Errorf("store code: %w", err)
	}
	if s.Metrics != nil {
		s.Metrics.CodeIssued(conn.Name, "sms", sendKind(req.Send))
	}
	res.ID, res.PhoneNumber = code.ID, code.Identifier
	return res, nil
}

// startEvent is the tenant log event of a start, written with its code: cls
// for a magic link, cs for a code, and fs when nothing is sent because the
// address is no user's and the connection has disable_signup. It names the
// kind of message, never its code or link.
func startEvent(req StartRequest, code store.Code, send bool) (store.Event, error) {
	typ, desc := eventlog.TypeCodeSent, "Passwordless login code has been sent"
	if IsLink(req.Send) && req.Connection.Strategy != "sms" {
		typ, desc = eventlog.TypeCodeLinkSent, "Passwordless login code/link has been sent"
	}
	details := map[string]any{"send": req.Send, "strategy": req.Connection.Strategy}
	if !send {
		typ, desc = eventlog.TypeFailedSignup, DescSignupDisabled
		details["message"] = "suppressed"
	}
	ua := req.UserAgent
	if len(ua) > 256 {
		ua = ua[:256] // the tenant log keeps 256 bytes, as the server does
	}
	e := eventlog.Caller{ClientID: req.Client.ClientID, ClientName: req.Client.Name, IP: req.IP, UserAgent: ua}.Event(typ, desc)
	e.Connection, e.ConnectionID, e.Identifier = req.Connection.Name, req.Connection.ID, code.Identifier
	e.Details = eventlog.Details(details)
	return e, eventlog.Stamp(&e, code.CreatedAt)
}

// Identifier normalises what a user typed for a connection: its
// CanonicalEmail for email, an E.164 number for sms. It reports false for a
// value that can never match a code.
func Identifier(conn *tenant.Connection, raw string) (string, bool) {
	if conn.Strategy == "sms" {
		n, err := sms.NormalizePhone(raw)
		if err != nil {
			return "", false
		}
		return n, true
	}
	id, err := CanonicalEmail(raw)
	return id, err == nil
}

// VerifyRequest is a code presented for login.
type VerifyRequest struct {
	Client     *tenant.Client
	Connection *tenant.Connection
	Username   string
	OTP        string
	IP         string
	// Takes are rate limit tokens the check costs, taken in the check's
	// transaction; when a bucket is empty the code is not looked at and
	// the error is store.ErrRateLimited. Taken, when set, is called with
	// their buckets once the check got that far.
	Takes []store.Take
	Taken func([]store.Bucket)
	// Accept, when set, is asked about the stored code once the value
	// matched, before it is consumed; its error refuses the code without
	// using it up or counting a failure, and is Verify's error.
	Accept func(store.Code) error
	// UserAgent is the caller's, for the tenant log.
	UserAgent string
	// Log says which tenant log events the check writes, in its own
	// transaction. The blocks it creates are always logged.
	Log LogAs
}

// LogAs names the tenant log events of a code check.
type LogAs struct {
	// Success is the type of a login (s); empty: none. A login that
	// creates its user logs ss in any case.
	Success string
	// Failure is the type of a refused check (f, fepotpft); empty: none.
	// A signup that disable_signup refuses logs fs instead.
	Failure string
	// Details names the flow (a grant type, a prompt); never a value the
	// caller sent.
	Details map[string]any
}

// Verify consumes the code and logs the user in, creating them on first
// login unless the connection has disable_signup.
func (s *Service) Verify(ctx context.Context, req VerifyRequest) (_ store.User, err error) {
	ctx, span := tracer.Start(ctx, "passwordless.Verify", trace.WithAttributes(
		attribute.String("sesame.connection", req.Connection.Name)))
	defer func() { endSpan(span, err) }()
	now := s.Now()
	conn := req.Connection
	identifier, _ := Identifier(conn, req.Username)
	u, err := NewUser(conn, identifier, now)
	if err != nil {
		return store.User{}, err
	}
	u.LastLogin, u.LastIP, u.LoginsCount = now, req.IP, 1
	// The code reached the user: the identifier is verified.
	if conn.Strategy == "sms" {
		u.PhoneVerified = true
	} else {
		u.EmailVerified = true
	}
	// The login is recorded in the code check's own transaction: one
	// commit for both.
	res, err := s.guess(ctx, req, now, true, &u)
	if err != nil {
		return store.User{}, err
	}
	if res.SignupRefused {
		return store.User{}, errorf(fault.Forbidden, CodeAccessDenied, DescSignupDisabled)
	}
	if res.UserBlocked {
		return store.User{}, ErrUserBlocked
	}
	return res.User, nil
}

// NewUser is the user that identifier (in its canonical form) becomes on
// conn, with a new user_id in Auth0's format (`email|<24 hex>`) and Auth0's
// defaults for a passwordless user: name the identifier; an email user's
// nickname the local part and picture its Gravatar; an sms user's
// nickname the number and no picture of their own. Nothing is verified and
// no login recorded yet. A first login and the Management API both make
// their users here.
func NewUser(conn *tenant.Connection, identifier string, now time.Time) (store.User, error) {
	id, err := NewObjectID()
	if err != nil {
		return store.User{}, err
	}
	u := store.User{
		UserID:     conn.Strategy + "|" + id,
		Connection: conn.Name,
		Strategy:   conn.Strategy,
		Identifier: identifier,
		Name:       identifier,
		CreatedAt:  now,
		UpdatedAt:  now,
	}
	if conn.Strategy == "sms" {
		u.PhoneNumber, u.Nickname = identifier, identifier
	} else {
		u.Email = identifier
		u.Nickname, u.Picture = nickname(identifier), Gravatar(identifier)
	}
	return u, nil
}

// Check checks a code without consuming it (POST /passwordless/verify). A
// wrong code uses up one of its tries, as at the token endpoint, so no
// endpoint is a free guessing oracle.
func (s *Service) Check(ctx context.Context, req VerifyRequest) error {
	_, err := s.guess(ctx, req, s.Now(), false, nil)
	return err
}

// guess checks a code (consuming it when consume; with login, logging that
// user in on success, in the same transaction) and turns the store's outcome
// into Auth0's errors. Under brute-force protection the store checks the
// blocks, the code and the failure counts in one transaction.
func (s *Service) guess(ctx context.Context, req VerifyRequest, now time.Time, consume bool, login *store.User) (store.Guessed, error) {
	conn := req.Connection
	wrong := errorf(fault.Denied, CodeInvalidGrant, wrongCodeDescription(conn))
	otp := strings.TrimSpace(req.OTP)
	identifier, ok := Identifier(conn, req.Username)
	if !ok || otp == "" || len(otp) > 64 {
		// Refused before the store is asked: the line goes to the
		// recorder. A username that is no identifier is not logged (it
		// could be anything the user typed).
		if events := s.guessEvents(req, identifier, now, store.Guessed{}, store.ErrCodeNotFound); len(events) > 0 && s.Events != nil {
			for _, e := range events {
				_ = s.Events(ctx, e) // the recorder logs its own failures
			}
		}
		if s.Metrics != nil {
			s.Metrics.CodeChecked(conn.Name, "invalid")
		}
		return store.Guessed{}, wrong
	}
	var macs [][]byte
	for _, k := range s.checkKeys() {
		macs = append(macs, codeHMAC(k.Key, conn.Name, identifier, req.Client.ClientID, otp))
	}
	g := store.Guard{Takes: req.Takes, IP: ratelimit.AddrKey(req.IP), Accept: req.Accept,
		Login: login, AllowSignup: !conn.Options.DisableSignup,
		Log: func(res store.Guessed, outcome error) []store.Event {
			return s.guessEvents(req, identifier, now, res, outcome)
		}}
	if p := s.Protection; conn.Options.BruteForceProtection {
		g.Protect, g.NewID = true, NewObjectID
		g.PairThreshold, g.PairBlock = p.PairThreshold, p.PairBlock
		g.AccountThreshold, g.AccountWindow = p.AccountThreshold, p.AccountWindow
		g.IPThreshold, g.IPWindow = p.IPThreshold, p.IPWindow
	}
	res, err := s.Store.GuessCode(ctx, conn.Name, identifier, macs, now, consume, g)
	if len(req.Takes) > 0 && len(res.Buckets) == len(req.Takes) && req.Taken != nil {
		req.Taken(res.Buckets)
	}
	if s.Metrics != nil {
		s.Metrics.CodeChecked(conn.Name, checkOutcome(res, err))
		for _, b := range res.NewBlocks {
			s.Metrics.BlockCreated(blockRule(b))
		}
	}
	return res, s.outcomeError(conn, err)
}

// checkOutcome names a code check's outcome for the metrics.
func checkOutcome(res store.Guessed, err error) string {
	var pe *Error
	switch {
	case err == nil && res.SignupRefused:
		return "signup_refused"
	case err == nil && res.UserBlocked:
		return "user_blocked"
	case err == nil:
		return "ok"
	case errors.Is(err, store.ErrBlocked):
		return "blocked"
	case errors.Is(err, store.ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, store.ErrCodeExpired):
		return "expired"
	case errors.Is(err, store.ErrAttemptsExceeded):
		return "exhausted"
	case errors.Is(err, store.ErrCodeWrong):
		return "wrong"
	case errors.Is(err, store.ErrCodeStale), errors.Is(err, store.ErrCodeNotFound):
		// Used, replaced, or never issued.
		return "not_found"
	case errors.As(err, &pe):
		return "refused"
	default:
		return "error"
	}
}

// blockRule names the protection rule that made a block: pair (one
// identifier from one IP), account (one identifier from any IP) or ip (one
// IP on any identifiers).
func blockRule(b store.Block) string {
	switch {
	case b.Identifier == "":
		return "ip"
	case b.IP == "":
		return "account"
	default:
		return "pair"
	}
}

// sendKind is what a start sent, for the metrics: code, or link for every
// kind of magic link.
func sendKind(send string) string {
	if IsLink(send) {
		return "link"
	}
	return "code"
}

// outcomeError turns GuessCode's outcome into Auth0's errors.
func (s *Service) outcomeError(conn *tenant.Connection, err error) error {
	wrong := errorf(fault.Denied, CodeInvalidGrant, wrongCodeDescription(conn))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrBlocked):
		return errorf(fault.Blocked, CodeTooManyAttempts, DescBlocked)
	case errors.Is(err, store.ErrRateLimited):
		return err
	case errors.Is(err, store.ErrCodeExpired):
		return errorf(fault.Denied, CodeInvalidGrant, DescCodeExpired)
	case errors.Is(err, store.ErrAttemptsExceeded):
		return errorf(fault.Denied, CodeInvalidGrant, DescMaxAttempts)
	case errors.Is(err, store.ErrCodeWrong), errors.Is(err, store.ErrCodeStale), errors.Is(err, store.ErrCodeNotFound):
		// Only ErrCodeWrong was counted: a used, expired or replaced code
		// gives an attacker nothing, and counting it would let a replay
		// lock users out.
		return wrong
	default:
		var pe *Error
		if errors.As(err, &pe) {
			return err // Accept's refusal
		}
		return fmt.Errorf("check code: %w", err)
	}
}

// guessEvents are the tenant log events of a judged guess, written in its
// transaction: the blocks it created, then its login (s, and ss for a new
// user), its refused signup (fs) or its failure, as req.Log asks.
func (s *Service) guessEvents(req VerifyRequest, identifier string, now time.Time, res store.Guessed, outcome error) []store.Event {
	caller := eventlog.Caller{ClientID: req.Client.ClientID, ClientName: req.Client.Name, IP: req.IP, UserAgent: req.UserAgent}
	var events []store.Event
	add := func(e store.Event, details map[string]any) {
		if e.Connection == "" {
			e.Connection, e.ConnectionID = req.Connection.Name, req.Connection.ID
		}
		if e.Identifier == "" {
			e.Identifier = identifier
		}
		merged := map[string]any{}
		for k, v := range req.Log.Details {
			merged[k] = v
		}
		for k, v := range details {
			merged[k] = v
		}
		e.Details = eventlog.Details(merged)
		if err := eventlog.Stamp(&e, now); err != nil {
			return // crypto/rand failed; the check goes on without its line
		}
		events = append(events, e)
	}
	for _, b := range res.NewBlocks {
		var desc string
		switch {
		case b.Identifier == "":
			desc = "IP blocked after too many failed verifications on any accounts"
		case b.IP == "":
			desc = "Account locked after too many failed verifications from any IP"
		default:
			desc = "IP blocked for this account after too many consecutive failed verifications"
		}
		// A block of the address on every identifier (limit_mu) names
		// the guess that tripped it.
		add(caller.Event(b.Reason, desc), map[string]any{"block_id": b.ID, "until": b.ExpiresAt.UTC().Format(time.RFC3339)})
	}
	switch {
	case outcome == nil && res.SignupRefused:
		add(caller.Event(eventlog.TypeFailedSignup, DescSignupDisabled), map[string]any{"error": CodeAccessDenied})
	case outcome == nil && res.User.UserID != "":
		if res.Created {
			e := caller.Event(eventlog.TypeSuccessSignup, "")
			e.UserID = res.User.UserID
			add(e, nil)
		}
		if req.Log.Success != "" {
			e := caller.Event(req.Log.Success, "")
			e.UserID = res.User.UserID
			add(e, nil)
		}
	case outcome == nil:
		// A check that logs no one in (/passwordless/verify): nothing.
	case req.Log.Failure != "":
		code, desc := "", outcome.Error()
		var pe *Error
		if errors.As(s.outcomeError(req.Connection, outcome), &pe) {
			code, desc = pe.Code, pe.Description
		}
		add(caller.Event(req.Log.Failure, desc), map[string]any{"error": code})
	}
	return events
}

func wrongCodeDescription(conn *tenant.Connection) string {
	if conn.Strategy == "sms" {
		return DescWrongPhoneCode
	}
	return DescWrongEmailCode
}

// CodeKey is one key of code HMACs, named by its id in the key set.
type CodeKey struct {
	ID  string
	Key []byte
}

// issueKey is the key new codes are HMACed under.
func (s *Service) issueKey() CodeKey {
	if len(s.HMACKeys) > 0 {
		return s.HMACKeys[0]
	}
	return CodeKey{ID: store.LegacyKeyID, Key: s.HMACKey}
}

// checkKeys are the keys a guess is HMACed under: every configured one and
// the legacy key.
func (s *Service) checkKeys() []CodeKey {
	keys := s.HMACKeys
	if s.HMACKey != nil {
		keys = append(keys[:len(keys):len(keys)], CodeKey{ID: store.LegacyKeyID, Key: s.HMACKey})
	}
	return keys
}

// codeHMAC binds a code to its connection, identifier and client: a code sent
// for one application cannot be redeemed by another.
func codeHMAC(key []byte, connection, identifier, clientID, code string) []byte {
	m := hmac.New(sha256.New, key)
	for _, part := range []string{connection, identifier, clientID, code} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// NewCode returns length decimal digits from crypto/rand, uniform over the
// whole digit space.
func NewCode(length int) (string, error) {
	if length <= 0 {
		length = 6
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(length)), nil)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return "", fmt.Errorf("generate code: %w", err)
	}
	return fmt.Sprintf("%0*s", length, n.String()), nil
}

// NewObjectID returns 24 random lowercase hex characters, the shape of
// Auth0's ids.
func NewObjectID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func nickname(email string) string {
	if at := strings.IndexByte(email, '@'); at > 0 {
		return email[:at]
	}
	return email
}

// Gravatar returns Auth0's default picture URL for an address.
func Gravatar(email string) string {
	sum := md5.Sum([]byte(email))
	initials := email
	if len(initials) > 2 {
		initials = initials[:2]
	}
	fallback := "https://cdn.auth0.com/avatars/" + strings.ToLower(initials) + ".png"
	return "https://s.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) + "?s=480&r=pg&d=" + url.QueryEscape(fallback)
}

// encodeLinkParams stores the parameters of a magic link (one value each) as
// a JSON object; LinkParams reads them back.
func encodeLinkParams(v url.Values) ([]byte, error) {
	m := make(map[string]string, len(v))
	for k := range v {
		m[k] = v.Get(k)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode link parameters: %w", err)
	}
	return b, nil
}

// ErrNotALink is the answer of LinkParams for a code that was not sent as a
// link: it cannot be redeemed through a magic link's endpoint.
var ErrNotALink = errors.New("passwordless: the code was not sent as a link")

// LinkParams returns the parameters of the magic link that code was sent
// in, as they were stored at /passwordless/start. A code sent in an app
// link (link_ios, link_android) has none: the app presents it with the
// OTP grant, as it would a code typed in.
func LinkParams(code store.Code) (url.Values, error) {
	if !IsWebLink(code.Send) {
		return nil, ErrNotALink
	}
	var m map[string]string
	if err := json.Unmarshal(code.AuthParams, &m); err != nil {
		return nil, fmt.Errorf("passwordless: stored link parameters of code %s: %w", code.ID, err)
	}
	v := make(url.Values, len(m))
	for k, s := range m {
		v.Set(k, s)
	}
	return v, nil
}

func encodeAuthParams(p map[string]any) ([]byte, error) {
	if len(p) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode authParams: %w", err)
	}
	return b, nil
}
