// Package e2e drives a real Sesame over real HTTP, with a real SQLite file
// and a real SMTP server, the way applications and SDKs do.
package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/app"
	"github.com/sesame-id/sesame/internal/clocktest"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/secrets"
	"github.com/sesame-id/sesame/internal/smtptest"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/postgres/pgtest"
)

// Credentials of the clients in the test tenant.
const (
	webClientID     = "webClientID0000000000000000000001"
	webSecret       = "web-secret-that-is-long-enough-for-a-test-0001"
	nativeClientID  = "nativeClientID000000000000000001"
	spaClientID     = "spaClientID000000000000000000001"
	noGrantClientID = "noGrantClientID00000000000000001"
	otherClientID   = "otherClientID0000000000000000001"
	webBClientID    = "webBClientID00000000000000000001"
	webBSecret      = "web-b-secret-that-is-long-enough-for-a-test-01"
	backendClientID = "backendClientID00000000000000001"
	backendSecret   = "backend-secret-that-is-long-enough-for-a-test"
	apiAudience     = "https://api.example.com/"
	esClientID      = "esClientID0000000000000000000001"
	esAudience      = "https://es.example.com/"
	hsAudience      = "https://hs.example.com/"
	coClientID      = "coClientID0000000000000000000001"
	browserClientID = "browserSPAClientID00000000000001"
)

// The Native App's iOS and Android identity (mobile), which link_ios and
// link_android magic links open.
const (
	iosTeamID         = "ABCDE12345"
	nativeAppID       = "com.example.native"
	androidCertSHA256 = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5"
)

// Credentials of the sms connections in the test tenant; the fake providers
// in sms_fakes_test.go check them.
const (
	twilioSID      = "AC0123456789abcdef0123456789abcdef"
	twilioToken    = "twilio-auth-token-0123456789abcdef"
	messagingSID   = "MG0123456789abcdef0123456789abcdef"
	gatewaySubject = "urn:sesame-test"
	gatewayAud     = "urn:test-sms-gateway"
	gatewaySecret  = "gateway-secret-that-is-at-least-256-bits-long"
)

// tenantYAML is the test tenant; %SMTP_HOST%, %SMTP_PORT%, %TIME_STEP%,
// %GATEWAY_URL% and %SPA_ORIGIN% are filled in per test.
const tenantYAML = `
clients:
  - name: Web App
    client_id: ` + webClientID + `
    client_secret: ` + webSecret + `
    app_type: regular_web
    token_endpoint_auth_method: client_secret_post
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp, refresh_token, authorization_code, implicit]
    callbacks: [https://app.example.com/callback, https://app.example.com/second-callback]
    allowed_logout_urls: [https://app.example.com/bye]
  - name: Native App
    client_id: ` + nativeClientID + `
    app_type: native
    token_endpoint_auth_method: none
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp, refresh_token, authorization_code]
    callbacks: ["com.example.native://callback"]
    mobile:
      ios: {team_id: ` + iosTeamID + `, app_bundle_identifier: ` + nativeAppID + `}
      android: {app_package_name: ` + nativeAppID + `, sha256_cert_fingerprints: ["` + androidCertSHA256 + `"]}
    refresh_token:
      rotation_type: rotating
      expiration_type: expiring
      leeway: 0
  - name: SPA
    client_id: ` + spaClientID + `
    app_type: spa
    token_endpoint_auth_method: none
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp, implicit]
    callbacks: [https://spa.example.com/callback]
    web_origins: [https://spa.example.com]
  - name: Cross Origin SPA
    client_id: ` + coClientID + `
    app_type: spa
    token_endpoint_auth_method: none
    grant_types: [implicit, authorization_code, refresh_token]
    callbacks: [https://co.example.com/callback]
    web_origins: [https://co.example.com, "https://*.preview.co.example.com"]
    allowed_origins: [https://cors-only.example.com]
    allowed_logout_urls: [https://co.example.com/bye, https://co.example.com/]
    cross_origin_authentication: true
    cross_origin_loc: https://co.example.com/co-verify.html
  - name: Browser SPA
    client_id: ` + browserClientID + `
    app_type: spa
    token_endpoint_auth_method: none
    grant_types: [implicit, authorization_code]
    callbacks: ["%SPA_ORIGIN%/callback"]
    web_origins: ["%SPA_ORIGIN%"]
    cross_origin_authentication: true
    cross_origin_loc: "%SPA_ORIGIN%/co-verify"
  - name: No Grant
    client_id: ` + noGrantClientID + `
    app_type: native
    token_endpoint_auth_method: none
    grant_types: [authorization_code]
  - name: Other App
    client_id: ` + otherClientID + `
    app_type: native
    token_endpoint_auth_method: none
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp]
  - name: Web B
    client_id: ` + webBClientID + `
    client_secret: ` + webBSecret + `
    app_type: regular_web
    token_endpoint_auth_method: client_secret_post
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp, authorization_code, implicit]
    callbacks: [https://b.example.com/callback]
  - name: ES App
    client_id: ` + esClientID + `
    app_type: native
    token_endpoint_auth_method: none
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp]
    jwt_configuration: {alg: ES256}
  - name: Backend
    client_id: ` + backendClientID + `
    client_secret: ` + backendSecret + `
    app_type: regular_web
    token_endpoint_auth_method: client_secret_post
    is_token_endpoint_ip_header_trusted: true
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp]
connections:
  - name: email
    strategy: email
    enabled_clients: [Web App, Native App, SPA, No Grant, Web B, Backend, ES App, Cross Origin SPA, Browser SPA]
    options:
      totp: {length: 6, time_step: %TIME_STEP%}
      email:
        from: "{{ application.name }} <login@example.com>"
        subject: "Your code for {{ application.name }}"
        syntax: liquid
  - name: email-direct
    strategy: email
    enabled_clients: [Web App]
    options:
      sesame: {link_confirmation: false}
      authParams: {scope: openid email, state: from-the-connection}
      email:
        syntax: liquid
        body: '<p>Your code is {{ code }} ({{ send }}).</p><p><a href="{{ link | escape }}">Sign in</a></p>'
  - name: email-link
    strategy: email
    enabled_clients: [Web App]
    options:
      sesame: {login_page_send: link}
  - name: email-unprotected
    strategy: email
    enabled_clients: [Native App]
    options:
      brute_force_protection: false
  - name: sms-us-only
    strategy: sms
    enabled_clients: [Native App]
    options:
      twilio_sid: ` + twilioSID + `
      twilio_token: ` + twilioToken + `
      from: "+16502530000"
      sesame: {allowed_country_codes: ["+1"]}
  - name: closed
    strategy: email
    enabled_clients: [Web App]
    options:
      disable_signup: true
  - name: sms
    strategy: sms
    enabled_clients: [Web App, Native App]
    options:
      twilio_sid: ` + twilioSID + `
      twilio_token: ` + twilioToken + `
      from: "+16502530000"
      syntax: md_with_macros
      template: "@@application.name@@ code: @@password@@"
      totp: {length: 6, time_step: %TIME_STEP%}
  - name: sms-msvc
    strategy: sms
    enabled_clients: [Native App]
    options:
      twilio_sid: ` + twilioSID + `
      twilio_token: ` + twilioToken + `
      messaging_service_sid: ` + messagingSID + `
  - name: sms-gateway
    strategy: sms
    enabled_clients: [Native App]
    options:
      provider: sms_gateway
      gateway_url: "%GATEWAY_URL%"
      gateway_authentication:
        method: bearer
        subject: "` + gatewaySubject + `"
        audience: "` + gatewayAud + `"
        secret: ` + gatewaySecret + `
        secret_base64_encoded: false
      forward_req_info: true
      from: Sesame
      syntax: liquid
      template: "{{ code }} is your code for {{ application.name }}"
  - name: sms-impatient
    strategy: sms
    enabled_clients: [Native App]
    options:
      twilio_sid: ` + twilioSID + `
      twilio_token: ` + twilioToken + `
      from: "+16502530000"
      sesame: {provider_timeout: 1}
  - name: sms-gateway-impatient
    strategy: sms
    enabled_clients: [Native App]
    options:
      provider: sms_gateway
      gateway_url: "%GATEWAY_URL%"
      gateway_authentication:
        method: bearer
        subject: "` + gatewaySubject + `"
        audience: "` + gatewayAud + `"
        secret: ` + gatewaySecret + `
      sesame: {provider_timeout: 1}
  - name: sms-dev
    strategy: sms
    enabled_clients: [Native App]
  - name: sms-closed
    strategy: sms
    enabled_clients: [Native App]
    options:
      twilio_sid: ` + twilioSID + `
      twilio_token: ` + twilioToken + `
      from: "+16502530000"
      disable_signup: true
  - name: db
    strategy: auth0
    enabled_clients: [Web App]
resourceServers:
  - name: Example API
    identifier: ` + apiAudience + `
    allow_offline_access: true
    token_lifetime: 3600
    scopes:
      - value: read:things
  - name: ES API
    identifier: ` + esAudience + `
    signing_alg: ES256
    scopes:
      - value: read:things
  - name: HS API
    identifier: ` + hsAudience + `
    signing_alg: HS256
emailProvider:
  name: smtp
  default_from_address: login@example.com
  credentials:
    smtp_host: %SMTP_HOST%
    smtp_port: %SMTP_PORT%
`

// env is one running Sesame with its mail server.
type env struct {
	t    *testing.T
	App  *app.App
	URL  string // base URL, with a trailing slash; the issuer unless envOptions.issuer
	HTTP *http.Client
	SMTP *smtptest.Server
	DB   string // the SQLite file, "" on PostgreSQL
	// Database is the --database the server runs on.
	Database string
	// Secrets is the key set (SESAME_SECRETS) every replica of this env
	// shares on PostgreSQL; "" on SQLite, where the first start makes the
	// file beside the database.
	Secrets string
	Tenant  string
	logs    *syncBuffer
	srv     *httptest.Server

	twilioURL      string
	gatewayTimeout time.Duration
	limits         ratelimit.Settings
	protection     passwordless.Protection
	trustedProxies []netip.Prefix
	allowPlainPKCE bool
	issuerPath     string
	tenantReload   time.Duration
	Clock          *clocktest.Clock
	keyReload      time.Duration
	keyRotation    time.Duration
	issuer         string
}

// generousLimits are the harness's rate limits unless a test asks for the
// real ones: tests of other features send many messages to one address.
func generousLimits() ratelimit.Settings {
	l := ratelimit.Defaults()
	l.StartPerIP = store.Limit{Burst: 100000, Per: time.Hour}
	l.PerRecipient = store.Limit{Burst: 100000, Per: time.Hour}
	l.VerifyPerIP = store.Limit{Burst: 100000, Per: time.Hour}
	l.RecipientPerDay = store.Limit{Burst: 100000, Per: time.Hour}
	l.TokenPerIP = store.Limit{Burst: 100000, Per: time.Hour}
	l.ManagementPerClient = store.Limit{Burst: 100000, Per: time.Hour}
	return l
}

type envOptions struct {
	timeStep int    // code lifetime in seconds (default 180)
	smtpAddr string // SMTP address to configure; default: a server started here
	noSMTP   bool   // configure smtpAddr but start no server there
	database string // --database; default a new SQLite file (or PostgreSQL schema, see testDatabase)
	tls      bool

	twilioURL      string        // Twilio API base URL; default: nothing listens there
	gatewayURL     string        // gateway_url of sms-gateway; default: nothing listens there
	gatewayTimeout time.Duration // SMS gateway timeout; default the server's

	limits         *ratelimit.Settings      // rate limits; default generousLimits()
	protection     *passwordless.Protection // brute-force protection; default the server's
	trustedProxies []netip.Prefix
	clock          bool             // run the server on a controllable clock (env.Clock)
	allowPlainPKCE bool             // --allow-plain-pkce
	issuerPath     string           // the issuer's path, e.g. "auth/"; default none
	clockAt        *clocktest.Clock // run the server on this clock (several servers on one)
	keyReload      time.Duration    // --key-reload-interval; default the server's (20 s)
	keyRotation    time.Duration    // --key-rotation-interval; default off
	issuer         string           // --issuer, when it is not this server's URL (replicas share one)
	tenantReload   time.Duration    // how often the stored tenant is reread; default the server's (5 s)
	spaOrigin      string           // the Browser SPA client's origin (browsertest.ServeSPA); default nothing listens there
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

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, logs: &syncBuffer{}}
	if o.timeStep == 0 {
		o.timeStep = 180
	}
	switch {
	case o.smtpAddr != "" && o.noSMTP:
	case o.smtpAddr != "":
		e.SMTP = smtptest.StartAt(t, o.smtpAddr)
	default:
		e.SMTP = smtptest.Start(t)
		o.smtpAddr = e.SMTP.Addr
	}
	// No test may reach the real Twilio or a gateway by accident.
	if o.twilioURL == "" {
		o.twilioURL = "http://127.0.0.1:1"
	}
	if o.gatewayURL == "" {
		o.gatewayURL = "http://127.0.0.1:1/sms"
	}
	if o.spaOrigin == "" {
		o.spaOrigin = "http://127.0.0.1:1"
	}
	host, port, _ := net.SplitHostPort(o.smtpAddr)
	dir := t.TempDir()
	e.Tenant = filepath.Join(dir, "tenant.yaml")
	yaml := strings.NewReplacer("%SMTP_HOST%", host, "%SMTP_PORT%", port, "%TIME_STEP%", strconv.Itoa(o.timeStep),
		"%GATEWAY_URL%", o.gatewayURL, "%SPA_ORIGIN%", o.spaOrigin).Replace(tenantYAML)
	if err := os.WriteFile(e.Tenant, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Database = o.database
	if e.Database == "" {
		e.Database = testDatabase(t, dir)
	}
	if path, ok := strings.CutPrefix(e.Database, "sqlite:"); ok {
		e.DB = path
	} else {
		set, err := secrets.Generate(time.Now(), nil)
		if err != nil {
			t.Fatal(err)
		}
		e.Secrets = string(set.Marshal())
	}
	e.twilioURL, e.gatewayTimeout = o.twilioURL, o.gatewayTimeout
	e.limits = generousLimits()
	if o.limits != nil {
		e.limits = *o.limits
	}
	if o.protection != nil {
		e.protection = *o.protection
	}
	e.trustedProxies, e.allowPlainPKCE, e.issuerPath = o.trustedProxies, o.allowPlainPKCE, o.issuerPath
	e.tenantReload = o.tenantReload
	if o.clock {
		e.Clock = clocktest.New(time.Now())
	}
	if o.clockAt != nil {
		e.Clock = o.clockAt
	}
	e.keyReload, e.keyRotation, e.issuer = o.keyReload, o.keyRotation, o.issuer
	e.start(o.tls)
	return e
}

// start (re)starts the server on the env's database.
func (e *env) start(useTLS bool) {
	t := e.t
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	base := scheme + "://" + srv.Listener.Addr().String() + "/" + e.issuerPath
	issuer := base
	if e.issuer != "" {
		issuer = e.issuer
	}
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(e.logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	var now func() time.Time
	if e.Clock != nil {
		now = e.Clock.Now
	}
	a, err := app.New(context.Background(), app.Config{
		Issuer:   issuer,
		Database: e.database(),
		Tenant:   e.Tenant,

		SecretsInline: e.Secrets,

		TwilioAPIURL:      e.twilioURL,
		SMSGatewayTimeout: e.gatewayTimeout,
		Limits:            e.limits,
		Protection:        e.protection,
		TrustedProxies:    e.trustedProxies,
		AllowPlainPKCE:    e.allowPlainPKCE,
		Now:               now,

		TenantReloadInterval: e.tenantReload,
		KeyReloadInterval:    e.keyReload,
		KeyRotationInterval:  e.keyRotation,
	}, logger)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv.Config.Handler = a.Handler()
	if useTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	a.Start()
	e.App, e.srv, e.URL, e.HTTP = a, srv, base, srv.Client()
	t.Cleanup(e.stop)
}

// database is the --database the env's server runs on.
func (e *env) database() string { return e.Database }

// backendEnv chooses the database the end-to-end tests run on: unset or
// "sqlite" for a SQLite file per test, "postgres" for a schema per test on
// the server SESAME_TEST_POSTGRES names (.ci/run runs the tests both ways).
const backendEnv = "SESAME_E2E_BACKEND"

// testDatabase is a new, empty database for one test: a SQLite file in dir,
// or a PostgreSQL schema of its own.
func testDatabase(t *testing.T, dir string) string {
	t.Helper()
	switch b := os.Getenv(backendEnv); b {
	case "", "sqlite":
		return "sqlite:" + filepath.Join(dir, "sesame.db")
	case "postgres":
		if os.Getenv(pgtest.Env) == "" {
			t.Fatalf("%s=postgres needs %s, the URL of a PostgreSQL server", backendEnv, pgtest.Env)
		}
		return pgtest.URL(t)
	default:
		t.Fatalf("%s=%q: want sqlite or postgres", backendEnv, b)
		return ""
	}
}

// stop stops the server and closes the database; it may be called twice.
func (e *env) stop() {
	if e.srv == nil {
		return
	}
	e.srv.Close()
	_ = e.App.Close()
	e.srv = nil
}

// restart stops the server and starts a new one on the same database file.
func (e *env) restart() {
	e.stop()
	e.start(false)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// response is a decoded HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

func (r response) str(k string) string {
	s, _ := r.JSON[k].(string)
	return s
}

func (e *env) do(req *http.Request) response {
	e.t.Helper()
	res, err := e.HTTP.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Body: body}
	_ = json.Unmarshal(body, &out.JSON)
	return out
}

func (e *env) postJSON(path string, body any, mods ...func(*http.Request)) response {
	e.t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			e.t.Fatal(err)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, e.URL+strings.TrimPrefix(path, "/"), bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for _, m := range mods {
		m(req)
	}
	return e.do(req)
}

func (e *env) postForm(path string, form url.Values, mods ...func(*http.Request)) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.URL+strings.TrimPrefix(path, "/"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, m := range mods {
		m(req)
	}
	return e.do(req)
}

func (e *env) get(path string, mods ...func(*http.Request)) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.URL+strings.TrimPrefix(path, "/"), nil)
	for _, m := range mods {
		m(req)
	}
	return e.do(req)
}

// startCode asks for a code for email through the public native client and
// returns the code from the mail.
func (e *env) startCode(clientID, email string) string {
	e.t.Helper()
	before := len(e.SMTP.Messages())
	body := map[string]any{"client_id": clientID, "connection": "email", "email": email, "send": "code"}
	if clientID == webClientID {
		body["client_secret"] = webSecret
	}
	res := e.postJSON("/passwordless/start", body)
	if res.Status != http.StatusOK {
		e.t.Fatalf("start: %d %s", res.Status, res.Body)
	}
	msgs := e.SMTP.Wait(e.t, before+1, 10*time.Second)
	return codeFrom(e.t, msgs[len(msgs)-1])
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

func codeFrom(t *testing.T, m smtptest.Message) string {
	t.Helper()
	match := codeRE.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("no code in mail text: %q", m.Text)
	}
	return match[1]
}

// otp exchanges a code at /oauth/token with the passwordless grant.
func (e *env) otp(clientID, email, code, scope string, extra ...string) response {
	e.t.Helper()
	f := url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/passwordless/otp"},
		"client_id":  {clientID}, "username": {email}, "otp": {code}, "realm": {"email"},
	}
	if scope != "" {
		f.Set("scope", scope)
	}
	if clientID == webClientID {
		f.Set("client_secret", webSecret)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return e.postForm("/oauth/token", f)
}

func wantError(t *testing.T, r response, status int, code, desc string) {
	t.Helper()
	if r.Status != status || r.str("error") != code || (desc != "" && r.str("error_description") != desc) {
		t.Fatalf("got %d %s, want %d %s %q", r.Status, r.Body, status, code, desc)
	}
}

// jwtClaims decodes a JWT's payload without checking it, for assertions on
// tokens whose signature another test checks.
func jwtClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return m
}
