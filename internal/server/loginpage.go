package server

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-id/sesame/internal/eventlog"
	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/login"
	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/sms"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// The hosted login page: GET /login shows where the login transaction is
// (choose a connection, enter the address or number, enter the code, or
// check the mail for a link); its forms post to /login/connection,
// /login/identifier, /login/code and /login/resend. Every POST carries the
// transaction id and its CSRF token, and must match the transaction cookie.
// Starting and checking codes go through the same service, rate limits and
// brute-force counters as the API: a guess here counts exactly like a guess
// on /oauth/token. No GET ever sends a message or consumes a code.

// TxCookie is the login transaction's cookie.
const TxCookie = "sesame_tx"

// ResendCooldown is how long the page waits before it offers a new message.
const ResendCooldown = 30 * time.Second

func (s *Server) cookiePath() string {
	u, err := url.Parse(s.Issuer)
	if err != nil || u.Path == "" {
		return "/"
	}
	return u.Path
}

func (s *Server) secureCookies() bool { return strings.HasPrefix(s.Issuer, "https://") }

// setTx writes the transaction's cookie.
func (s *Server) setTx(w http.ResponseWriter, tx login.Transaction) error {
	sealed, err := s.LoginTx.Seal(tx)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: TxCookie, Value: sealed, Path: s.cookiePath(), MaxAge: int(login.TxLifetime.Seconds()),
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode,
	})
	return nil
}

func (s *Server) clearTx(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: TxCookie, Value: "", Path: s.cookiePath(), MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
}

// readTx opens the transaction cookie.
func (s *Server) readTx(r *http.Request) (login.Transaction, bool) {
	c, err := r.Cookie(TxCookie)
	if err != nil {
		return login.Transaction{}, false
	}
	tx, err := s.LoginTx.Open(c.Value, s.Now())
	return tx, err == nil
}

// loginState is one request of the hosted page: the transaction and what
// it resolves to in the tenant as it is now.
type loginState struct {
	tx     login.Transaction
	t      *tenant.Tenant
	client *tenant.Client
	ar     oauth.AuthRequest
	lang   login.Lang
	conns  []*tenant.Connection // the passwordless connections the page offers
	conn   *tenant.Connection   // the chosen one, or nil
}

// loginStateOf reads the transaction of a request; it answers the request
// itself (and reports false) when there is none or it no longer holds.
func (s *Server) loginStateOf(w http.ResponseWriter, r *http.Request, post bool) (*loginState, bool) {
	tx, ok := s.readTx(r)
	lang := login.Negotiate("", r.Header.Get("Accept-Language"))
	if !ok {
		s.renderLogin(w, http.StatusBadRequest, login.Error{Page: login.Page{Lang: lang}, Problem: login.LoginExpired})
		return nil, false
	}
	if post {
		if err := r.ParseForm(); err != nil || r.PostForm.Get(login.FieldTx) != tx.ID || !s.LoginCSRF.Check(tx.ID, r.PostForm.Get(login.FieldCSRF)) {
			// A form of another (older) transaction, or a forged one.
			s.renderLogin(w, http.StatusForbidden, login.Error{Page: login.Page{Lang: lang}, Problem: login.LoginExpired})
			return nil, false
		}
	}
	st := &loginState{tx: tx, t: s.Tenant()}
	st.lang = login.Negotiate(tx.Params.Get("ui_locales"), r.Header.Get("Accept-Language"))
	client, ar, err := s.authRequestOf(st.t, tx)
	if err != nil {
		s.clearTx(w)
		if client != nil {
			s.sendAuthError(w, r, ar, err)
			return nil, false
		}
		s.renderLogin(w, http.StatusBadRequest, login.Error{Page: login.Page{Lang: st.lang}, Problem: login.InvalidRequest})
		return nil, false
	}
	st.client, st.ar = client, ar
	forced := tx.Params.Get("connection")
	for _, c := range st.t.Connections {
		if passwordlessConnection(c) && c.EnabledFor(client.ClientID) && (forced == "" || c.Name == forced) {
			st.conns = append(st.conns, c)
		}
	}
	if len(st.conns) == 0 {
		s.clearTx(w)
		s.sendAuthResult(w, oauth.ErrorResult(ar, "invalid_request", "no passwordless connection is enabled for this application"))
		return nil, false
	}
	switch {
	case tx.Connection != "":
		for _, c := range st.conns {
			if c.Name == tx.Connection {
				st.conn = c
			}
		}
	case len(st.conns) == 1:
		st.conn = st.conns[0]
	}
	return st, true
}

func (st *loginState) page() login.Page {
	return login.Page{Lang: st.lang, Brand: login.BrandOf(st.client), ReturnTo: st.ar.RedirectURI}
}

func (s *Server) form(st *loginState, action string) login.Form {
	return login.Form{Action: s.loginPath() + action, Tx: st.tx.ID, CSRF: s.LoginCSRF.Token(st.tx.ID)}
}

func channelOf(c *tenant.Connection) login.Channel {
	if c.Strategy == "sms" {
		return login.SMS
	}
	return login.Email
}

func (s *Server) renderLogin(w http.ResponseWriter, status int, v login.View) {
	if err := login.Render(w, status, v); err != nil {
		s.Logger.Error("render the login page", "err", err)
	}
}

// handleLoginPage is GET /login: the page for where the transaction is.
// ?another=1 starts again with another address or number, ?choose=1 with
// another connection.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	st, ok := s.loginStateOf(w, r, false)
	if !ok {
		return
	}
	q := r.URL.Query()
	if q.Get("another") != "" || q.Get("choose") != "" {
		st.tx.Identifier, st.tx.Send, st.tx.SentAt = "", "", 0
		if q.Get("choose") != "" {
			st.tx.Connection = ""
		}
		if err := s.setTx(w, st.tx); err != nil {
			s.renderPageError(w, r, err)
			return
		}
		s.redirectToLoginPage(w)
		return
	}
	s.showLogin(w, st, http.StatusOK, login.NoProblem, 0, "")
}

// showLogin renders the page for where st is, with a problem to say.
func (s *Server) showLogin(w http.ResponseWriter, st *loginState, status int, problem login.Problem, retryAfter time.Duration, value string) {
	if st.conn == nil {
		v := login.ChooseConnection{Page: st.page(), Form: s.form(st, "/connection")}
		for _, c := range st.conns {
			v.Connections = append(v.Connections, login.Connection{Name: c.Name, Channel: channelOf(c)})
		}
		s.renderLogin(w, status, v)
		return
	}
	chooseURL := ""
	if len(st.conns) > 1 {
		chooseURL = s.loginPath() + "?choose=1"
	}
	if st.tx.Identifier == "" {
		if value == "" {
			value = st.loginHint()
		}
		s.renderLogin(w, status, login.Identifier{
			Page: st.page(), Form: s.form(st, "/identifier"), Channel: channelOf(st.conn),
			SendLink: st.conn.Strategy == "email" && st.conn.Options.LoginPageSendsLink(),
			Value:    value, Problem: problem, RetryAfter: retryAfter, ChooseURL: chooseURL,
		})
		return
	}
	resendIn := time.Unix(st.tx.SentAt, 0).Add(ResendCooldown).Sub(s.Now())
	if resendIn < 0 {
		resendIn = 0
	}
	resendIn = resendIn.Round(time.Second)
	another := s.loginPath() + "?another=1"
	if st.tx.Send == "link" {
		s.renderLogin(w, status, login.LinkSent{
			Page: st.page(), Identifier: st.tx.Identifier, AnotherURL: another,
			Resend: s.form(st, "/resend"), ResendIn: resendIn, Problem: problem, RetryAfter: retryAfter,
		})
		return
	}
	s.renderLogin(w, status, login.Code{
		Page: st.page(), Form: s.form(st, "/code"), Channel: channelOf(st.conn), Identifier: st.tx.Identifier,
		Length: st.conn.Options.TOTP.Length, AnotherURL: another, Resend: s.form(st, "/resend"),
		ResendIn: resendIn, Problem: problem, RetryAfter: retryAfter,
	})
}

// loginHint is login_hint when it suits the chosen connection.
func (st *loginState) loginHint() string {
	hint := st.tx.Params.Get("login_hint")
	if hint == "" || st.conn == nil {
		return ""
	}
	if (st.conn.Strategy == "email") == strings.Contains(hint, "@") {
		return hint
	}
	return ""
}

// handleLoginConnection is POST /login/connection: the person chose email
// or phone.
func (s *Server) handleLoginConnection(w http.ResponseWriter, r *http.Request) {
	st, ok := s.loginStateOf(w, r, true)
	if !ok {
		return
	}
	name := r.PostForm.Get(login.FieldConnection)
	for _, c := range st.conns {
		if c.Name == name {
			st.tx.Connection, st.tx.Identifier, st.tx.Send = c.Name, "", ""
			if err := s.setTx(w, st.tx); err != nil {
				s.renderPageError(w, r, err)
				return
			}
			s.seeLoginPage(w)
			return
		}
	}
	s.showLogin(w, st, http.StatusBadRequest, login.NoProblem, 0, "")
}

// handleLoginIdentifier is POST /login/identifier: send a code (or link)
// to the address or number typed.
func (s *Server) handleLoginIdentifier(w http.ResponseWriter, r *http.Request) {
	st, ok := s.loginStateOf(w, r, true)
	if !ok {
		return
	}
	if st.conn == nil {
		s.showLogin(w, st, http.StatusBadRequest, login.NoProblem, 0, "")
		return
	}
	s.loginSend(w, r, st, r.PostForm.Get(login.FieldIdentifier))
}

// handleLoginResend is POST /login/resend: the same again, after the
// cooldown.
func (s *Server) handleLoginResend(w http.ResponseWriter, r *http.Request) {
	st, ok := s.loginStateOf(w, r, true)
	if !ok {
		return
	}
	if st.conn == nil || st.tx.Identifier == "" {
		s.seeLoginPage(w)
		return
	}
	if s.Now().Before(time.Unix(st.tx.SentAt, 0).Add(ResendCooldown)) {
		s.showLogin(w, st, http.StatusTooManyRequests, login.NoProblem, 0, "")
		return
	}
	s.loginSend(w, r, st, st.tx.Identifier)
}

// loginSend starts a passwordless login for the page, with the API's
// checks and rate limits, and shows the next step.
func (s *Server) loginSend(w http.ResponseWriter, r *http.Request, st *loginState, raw string) {
	conn, client := st.conn, st.client
	ip := s.callerIP(r)
	startIP := store.Take{Key: ratelimit.StartIPKey(ip), Limit: s.limits().StartPerIP}
	refuse := func(takes []store.Take, bs []store.Bucket) rateLimited {
		return func(w http.ResponseWriter) {
			s.showLogin(w, st, http.StatusTooManyRequests, login.RateLimited, retryAfterOf(takes, bs, s.Now()), raw)
		}
	}
	problem := func(p login.Problem) {
		if s.allow(w, r, startIP.Key, startIP.Limit, ip, client.ClientID, refuse(nil, nil)) {
			s.showLogin(w, st, http.StatusBadRequest, p, 0, raw)
		}
	}
	req := passwordless.StartRequest{
		Client: client, Connection: conn, RequestLanguage: requestLanguage(r), IP: ip, UserAgent: truncate(r.UserAgent(), 512),
	}
	var takes []store.Take
	if conn.Strategy == "sms" {
		// People type numbers with spaces, dashes, dots and brackets; the
		// API takes E.164 only.
		typed := strings.Map(func(r rune) rune {
			if strings.ContainsRune(" -().\u00a0", r) {
				return -1
			}
			return r
		}, strings.TrimSpace(raw))
		phone, dest, perr := sms.ParsePhone(typed)
		if perr != nil || dest.Premium || dest.Unknown || !sms.CallingCodeAllowed(conn.Options.AllowedCountryCodes(), dest.CallingCode) {
			problem(login.InvalidPhone)
			return
		}
		req.PhoneNumber, req.Send = phone, "code"
		takes = s.takes(startIP,
			store.Take{Key: ratelimit.RecipientKey(conn.Name, phone), Limit: s.limits().PerRecipient},
			store.Take{Key: ratelimit.RecipientDayKey(conn.Name, phone), Limit: s.limits().RecipientPerDay},
			store.Take{Key: ratelimit.CountryKey(conn.Name, strconv.Itoa(dest.CallingCode)), Limit: s.limits().SMSPerCountry})
	} else {
		email, err := passwordless.CanonicalEmail(raw)
		if err != nil {
			problem(login.InvalidEmail)
			return
		}
		req.Email, req.Send, req.EmailProvider = email, "code", st.t.EmailProvider
		if conn.Options.LoginPageSendsLink() {
			q := st.ar.Values()
			q.Set("connection", conn.Name)
			q.Set("email", email)
			req.Send, req.LinkParams = "link", q
		}
		takes = s.takes(startIP, store.Take{Key: ratelimit.RecipientKey(conn.Name, ratelimit.Mailbox(email)), Limit: s.limits().PerRecipient},
			store.Take{Key: ratelimit.RecipientDayKey(conn.Name, ratelimit.Mailbox(email)), Limit: s.limits().RecipientPerDay})
	}
	req.Takes = takes
	res, err := s.Passwordless.Start(r.Context(), req)
	if !s.taken(w, r, takes, res.Buckets, err, ip, client.ClientID, refuse(takes, res.Buckets)) {
		return
	}
	if err != nil {
		if unavailable(r, err) {
			s.renderLogin(w, http.StatusServiceUnavailable, login.Error{Page: st.page(), Problem: login.Generic})
			return
		}
		var pe *passwordless.Error
		if errors.As(err, &pe) && pe.Kind == fault.Invalid {
			if conn.Strategy == "sms" {
				s.showLogin(w, st, http.StatusBadRequest, login.InvalidPhone, 0, raw)
			} else {
				s.showLogin(w, st, http.StatusBadRequest, login.InvalidEmail, 0, raw)
			}
			return
		}
		s.Logger.Warn("hosted page: send", "connection", conn.Name, "err", err)
		s.showLogin(w, st, http.StatusBadGateway, login.DeliveryFailed, 0, raw)
		return
	}
	st.tx.Identifier, st.tx.Send, st.tx.SentAt = req.Email+req.PhoneNumber, req.Send, s.Now().Unix()
	st.tx.Connection = conn.Name
	if err := s.setTx(w, st.tx); err != nil {
		s.renderPageError(w, r, err)
		return
	}
	s.seeLoginPage(w)
}

// handleLoginCode is POST /login/code: check the code, log in, and go back
// to the application.
func (s *Server) handleLoginCode(w http.ResponseWriter, r *http.Request) {
	st, ok := s.loginStateOf(w, r, true)
	if !ok {
		return
	}
	if st.conn == nil || st.tx.Identifier == "" || st.tx.Send != "code" {
		s.seeLoginPage(w)
		return
	}
	client := st.client
	ip := s.callerIP(r)
	limit := s.codeCheckLimit(ip)
	user, err := s.Passwordless.Verify(r.Context(), passwordless.VerifyRequest{
		Client: client, Connection: st.conn, Username: st.tx.Identifier, OTP: strings.TrimSpace(r.PostForm.Get(login.FieldCode)),
		IP: ip, Takes: limit.takes, Taken: limit.Taken, UserAgent: userAgent(r),
		Log: passwordless.LogAs{Success: eventlog.TypeSuccessLogin, Failure: eventlog.TypeFailedLogin,
			Details: map[string]any{"flow": "login_page"}},
	})
	refuse := func(w http.ResponseWriter) {
		s.showLogin(w, st, http.StatusTooManyRequests, login.RateLimited, retryAfterOf(limit.takes, limit.buckets, s.Now()), "")
	}
	if !limit.done(w, r, err, client.ClientID, refuse) {
		return
	}
	if err != nil {
		if unavailable(r, err) {
			s.renderLogin(w, http.StatusServiceUnavailable, login.Error{Page: st.page(), Problem: login.Generic})
			return
		}
		p, status := codeProblem(err)
		if p == login.Generic {
			s.Logger.Warn("hosted page: check code", "err", err)
		}
		s.showLogin(w, st, status, p, 0, "")
		return
	}
	sess, ok := s.startSession(w, r, client, user, ip)
	if !ok {
		return
	}
	s.clearTx(w)
	s.finishAuthorize(w, r, st.t, client, st.ar, user, sess)
}

// codeProblem says a failed code check in the page's words.
func codeProblem(err error) (login.Problem, int) {
	var pe *passwordless.Error
	if !errors.As(err, &pe) {
		return login.Generic, http.StatusInternalServerError
	}
	switch {
	case pe.Kind == fault.Blocked:
		return login.Blocked, http.StatusTooManyRequests
	case pe.Description == passwordless.DescCodeExpired:
		return login.Expired, http.StatusForbidden
	case pe.Description == passwordless.DescMaxAttempts:
		return login.TooManyTries, http.StatusForbidden
	case pe.Description == passwordless.DescSignupDisabled:
		return login.SignupDisabled, http.StatusForbidden
	case pe.Kind == fault.Denied:
		return login.WrongCode, http.StatusForbidden
	}
	return login.Generic, http.StatusBadRequest
}

// retryAfterOf is about how long until the first empty bucket of takes
// has a token again: one token's share of its refill (Reset is when the
// bucket is full again, which may be much later).
func retryAfterOf(takes []store.Take, bs []store.Bucket, now time.Time) time.Duration {
	for i, b := range bs {
		if b.Allowed || i >= len(takes) {
			continue
		}
		d := b.Reset.Sub(now)
		if l := takes[i].Limit; l.Burst > 0 {
			d = min(d, l.Per/time.Duration(l.Burst))
		}
		if d > 0 {
			return max(d.Round(time.Second), time.Second)
		}
	}
	return 0
}

// seeLoginPage answers a POST of the page with a redirect to GET /login
// (post, redirect, get: reloading never posts again).
func (s *Server) seeLoginPage(w http.ResponseWriter) {
	noStore(w)
	w.Header().Set("Location", s.loginPath())
	w.WriteHeader(http.StatusSeeOther)
}

// renderLoginError is the hosted page's error page, before there is a
// transaction (an unknown client).
func (s *Server) renderLoginError(w http.ResponseWriter, r *http.Request, status int, p login.Problem, client *tenant.Client) {
	page := login.Page{Lang: login.Negotiate(r.URL.Query().Get("ui_locales"), r.Header.Get("Accept-Language"))}
	if client != nil {
		page.Brand = login.BrandOf(client)
	}
	s.renderLogin(w, status, login.Error{Page: page, Problem: p})
}
