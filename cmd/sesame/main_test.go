package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auth0/go-auth0/authentication"
	"github.com/auth0/go-auth0/authentication/oauth"
	"github.com/auth0/go-auth0/authentication/passwordless"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/sesame-id/sesame/internal/app"
	"github.com/sesame-id/sesame/internal/smstest"
	"github.com/sesame-id/sesame/internal/smtptest"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/postgres/pgtest"
)

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

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is `sesame` run in this test through run(), as main runs it.
type process struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan error
}

func startSesame(t *testing.T, args []string, env map[string]string) *process {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	getenv := func(k string) string { return env[k] }
	go func() { p.done <- run(ctx, args, getenv, p.stdout, p.stderr) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("sesame exited with %v; log:\n%s", err, p.stderr)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("sesame did not stop")
	}
}

// waitHealthy polls /health until the server answers.
func waitHealthy(t *testing.T, p *process, client *http.Client, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			t.Fatalf("sesame exited early: %v\n%s", err, p.stderr)
		default:
		}
		res, err := client.Get(base + "health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("sesame did not become healthy; log:\n%s", p.stderr)
}

func postJSON(t *testing.T, client *http.Client, u string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := client.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func TestServe_NoArgumentsMakesADevelopmentTenant(t *testing.T) {
	t.Chdir(t.TempDir())
	addr := freeAddr(t)
	// SESAME_LISTEN stands in for the default address, which other tests
	// on this machine may hold; everything else is the default.
	p := startSesame(t, nil, map[string]string{"SESAME_LISTEN": addr})
	base := "http://" + addr + "/"
	waitHealthy(t, p, http.DefaultClient, base)
	if _, err := os.Stat("sesame.db"); err != nil {
		t.Fatalf("no ./sesame.db: %v", err)
	}

	out := p.stdout.String()
	id := regexp.MustCompile(`client_id:\s+(\S+)`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`client_secret:\s+(\S+)`).FindStringSubmatch(out)
	if id == nil || secret == nil {
		t.Fatalf("the development client's credentials were not printed:\n%s", out)
	}
	if strings.Contains(p.stderr.String(), secret[1]) {
		t.Errorf("the client secret appears in the log")
	}

	status, body := postJSON(t, http.DefaultClient, base+"passwordless/start", map[string]any{
		"client_id": id[1], "client_secret": secret[1], "connection": "email", "email": "dev@example.com", "send": "code",
	})
	if status != 200 {
		t.Fatalf("start: %d %v", status, body)
	}
	var code string
	deadline := time.Now().Add(10 * time.Second)
	for code == "" && time.Now().Before(deadline) {
		log := p.stderr.String()
		if i := strings.Index(log, "DEVELOPMENT DELIVERY"); i >= 0 {
			if m := regexp.MustCompile(`(?:^|[^0-9])([0-9]{6})(?:[^0-9]|$)`).FindStringSubmatch(log[i:]); m != nil {
				code = m[1]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code == "" {
		t.Fatalf("no development delivery in the log:\n%s", p.stderr)
	}
	res, err := http.PostForm(base+"oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/passwordless/otp"}, "client_id": {id[1]}, "client_secret": {secret[1]},
		"username": {"dev@example.com"}, "otp": {code}, "realm": {"email"}, "scope": {"openid"},
	})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("token with the code from the development log: %d", res.StatusCode)
	}

	// A second start on the same database keeps the tenant and prints no
	// credentials again.
	p.stop(t)
	p2 := startSesame(t, []string{"serve"}, map[string]string{"SESAME_LISTEN": addr})
	waitHealthy(t, p2, http.DefaultClient, base)
	if strings.Contains(p2.stdout.String(), "client_secret") {
		t.Errorf("credentials printed again on the second start:\n%s", p2.stdout)
	}

	// OPTIONS * reaches Sesame's handler (net/http would answer it with a
	// bare 200) and gets Auth0's JSON error shape like any other route
	// that does not exist.
	req, _ := http.NewRequest(http.MethodOptions, base, nil)
	req.URL.Opaque = "*"
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 404 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || !strings.Contains(string(b), `"error":"not_found"`) {
		t.Errorf("OPTIONS *: %d %q %s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
}

func TestMigrateAndVersion(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr syncBuffer
	db := "sqlite:" + filepath.Join(dir, "m.db")
	if err := run(context.Background(), []string{"migrate", "--database", db}, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("migrate: %v\n%s", err, stderr.String())
	}
	if err := run(context.Background(), []string{"migrate"}, func(k string) string {
		if k == "SESAME_DATABASE" {
			return db
		}
		return ""
	}, &stdout, &stderr); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if err := run(context.Background(), []string{"version"}, nil, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "sesame ") {
		t.Fatalf("version: %v %q", err, stdout.String())
	}
	if err := run(context.Background(), []string{"nope"}, nil, &stdout, &stderr); err == nil {
		t.Fatalf("an unknown command succeeded")
	}
	if err := run(context.Background(), []string{"serve", "--database", "mysql://x:hunter2@localhost/db"}, func(string) string { return "" }, &stdout, &stderr); err == nil ||
		!strings.Contains(err.Error(), "postgres://") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("an unknown database: %v", err)
	}
}

// TestRun_MigrateAndBlocksOnPostgreSQL: sesame migrate and sesame blocks take
// a PostgreSQL URL from the environment, with the pool size.
func TestRun_MigrateAndBlocksOnPostgreSQL(t *testing.T) {
	env := map[string]string{"SESAME_DATABASE": pgtest.URL(t), "SESAME_DATABASE_POOL_SIZE": "2"}
	getenv := func(k string) string { return env[k] }
	for _, args := range [][]string{{"migrate"}, {"migrate"}, {"blocks", "list"}} {
		var stdout, stderr syncBuffer
		if err := run(context.Background(), args, getenv, &stdout, &stderr); err != nil {
			t.Fatalf("sesame %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		if args[0] == "blocks" && !strings.Contains(stdout.String(), "no blocks in force") {
			t.Errorf("blocks list on a new database: %q", stdout.String())
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns a
// pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sesame test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// serveTLSForSDK runs sesame serve over TLS with tenantFile (and extra
// flags), as the Auth0 SDKs need it (https://DOMAIN/ as the issuer), and
// returns an unmodified go-auth0 authentication client for clientID, the
// HTTP client that trusts the server, its address and the process.
func serveTLSForSDK(t *testing.T, dir, tenantFile, clientID, secret string, extra ...string) (*authentication.Authentication, *http.Client, string, *process) {
	t.Helper()
	certFile, keyFile, pool := selfSigned(t, dir)
	addr := freeAddr(t)
	args := append([]string{"serve", "--listen", addr, "--tls-cert", certFile, "--tls-key", keyFile}, extra...)
	p := startSesame(t, args, map[string]string{
		"SESAME_DATABASE": "sqlite:" + filepath.Join(dir, "sesame.db"),
		"SESAME_TENANT":   tenantFile,
	})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	waitHealthy(t, p, client, "https://"+addr+"/")
	// The SDK insists on https://DOMAIN/ as the issuer and validates the
	// ID token against the JWKS it fetches from there.
	auth, err := authentication.New(context.Background(), addr,
		authentication.WithClientID(clientID),
		authentication.WithClientSecret(secret),
		authentication.WithClient(client),
	)
	if err != nil {
		t.Fatalf("authentication.New: %v", err)
	}
	return auth, client, addr, p
}

func TestServe_WorksWithTheAuth0GoSDKOverTLS(t *testing.T) {
	dir := t.TempDir()
	sink := smtptest.Start(t)
	host, port, _ := net.SplitHostPort(sink.Addr)
	const clientID, secret = "sdkClient000000000000000000000001", "sdk-client-secret-0123456789-abcdefghijklmnop"
	tenantFile := filepath.Join(dir, "tenant.yaml")
	tenantYAML := fmt.Sprintf(`
clients:
  - name: SDK App
    client_id: %s
    client_secret: ##SDK_SECRET##
    app_type: regular_web
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp, refresh_token]
connections:
  - name: email
    strategy: email
    enabled_clients: [SDK App]
emailProvider:
  name: smtp
  default_from_address: login@example.com
  credentials: {smtp_host: %s, smtp_port: %s}
`, clientID, host, port)
	if err := os.WriteFile(tenantFile, []byte(tenantYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SDK_SECRET", secret) // a0deploy-style ##KEYWORD## replacement reads the environment
	auth, client, addr, p := serveTLSForSDK(t, dir, tenantFile, clientID, secret)
	ctx := context.Background()
	sent, err := auth.Passwordless.SendEmail(ctx, passwordless.SendEmailRequest{
		Connection: "email", Email: "sdk@example.com", Send: "code",
	})
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	if len(sent.ID) != 24 || sent.Email != "sdk@example.com" {
		t.Errorf("SendEmail response = %+v", sent)
	}
	msgs := sink.Wait(t, 1, 10*time.Second)
	code := regexp.MustCompile(`\b(\d{6})\b`).FindStringSubmatch(msgs[0].Text)
	if code == nil {
		t.Fatalf("no code in %q", msgs[0].Text)
	}
	tokens, err := auth.Passwordless.LoginWithEmail(ctx, passwordless.LoginWithEmailRequest{
		Email: "sdk@example.com", Code: code[1], Scope: "openid profile email offline_access",
	}, oauth.IDTokenValidationOptions{})
	if err != nil {
		t.Fatalf("LoginWithEmail: %v", err)
	}
	if tokens.AccessToken == "" || tokens.IDToken == "" || tokens.RefreshToken == "" || tokens.TokenType != "Bearer" {
		t.Fatalf("tokens = %+v", tokens)
	}

	// A wrong code comes back as the SDK's error with Auth0's strings.
	_, err = auth.Passwordless.LoginWithEmail(ctx, passwordless.LoginWithEmailRequest{
		Email: "sdk@example.com", Code: "000000", Scope: "openid",
	}, oauth.IDTokenValidationOptions{})
	var aerr *authentication.Error
	if err == nil || !asAuthError(err, &aerr) || aerr.StatusCode != 403 || aerr.Err != "invalid_grant" || aerr.Message != "Wrong email or verification code." {
		t.Fatalf("wrong code: %v", err)
	}

	// The SDK's refresh and userinfo work too.
	refreshed, err := auth.OAuth.RefreshToken(ctx, oauth.RefreshTokenRequest{RefreshToken: tokens.RefreshToken}, oauth.IDTokenValidationOptions{})
	if err != nil || refreshed.AccessToken == "" {
		t.Fatalf("RefreshToken: %v", err)
	}
	info, err := auth.UserInfo(ctx, tokens.AccessToken)
	if err != nil || info.Email != "sdk@example.com" || !info.EmailVerified {
		t.Fatalf("UserInfo: %+v %v", info, err)
	}

	// And go-oidc, through discovery, agrees on the issuer and the keys.
	octx := oidc.ClientContext(ctx, client)
	provider, err := oidc.NewProvider(octx, "https://"+addr+"/")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(octx, tokens.IDToken); err != nil {
		t.Fatalf("go-oidc: %v", err)
	}
	if strings.Contains(p.stderr.String(), code[1]) {
		t.Errorf("the code appears in the log")
	}
}

func TestServe_SendsAndLogsInBySMSWithTheAuth0GoSDK(t *testing.T) {
	dir := t.TempDir()
	const (
		clientID, secret = "sdkClient000000000000000000000002", "sdk-client-secret-0123456789-abcdefghijklmnoq"
		sid, token       = "AC0123456789abcdef0123456789abcdef", "twilio-auth-token-0123456789abcdef"
		phone            = "+16502530198"
	)
	twilio := smstest.StartTwilio(t, sid, token)

	tenantFile := filepath.Join(dir, "tenant.yaml")
	tenantYAML := fmt.Sprintf(`
clients:
  - name: SDK App
    client_id: %s
    client_secret: %s
    app_type: regular_web
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp]
connections:
  - name: sms
    strategy: sms
    enabled_clients: [SDK App]
    options:
      twilio_sid: %s
      twilio_token: %s
      from: "+16502530000"
      template: "Your SDK code: @@password@@"
`, clientID, secret, sid, token)
	if err := os.WriteFile(tenantFile, []byte(tenantYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	auth, _, _, p := serveTLSForSDK(t, dir, tenantFile, clientID, secret, "--twilio-api-url", twilio.URL)
	ctx := context.Background()
	// SendSMS always uses the connection "sms" and sends no send.
	sent, err := auth.Passwordless.SendSMS(ctx, passwordless.SendSMSRequest{PhoneNumber: phone})
	if err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	if len(sent.ID) != 24 || sent.PhoneNumber != phone || sent.PhoneVerified {
		t.Errorf("SendSMS response = %+v", sent)
	}
	got := twilio.Messages()
	if len(got) != 1 || got[0].Get("To") != phone || got[0].Get("From") != "+16502530000" {
		t.Fatalf("twilio accepted %v, want one message to %s from the connection's number", got, phone)
	}
	code := regexp.MustCompile(`^Your SDK code: (\d{6})$`).FindStringSubmatch(got[0].Get("Body"))
	if code == nil {
		t.Fatalf("no code in %q", got[0].Get("Body"))
	}

	// LoginWithSMS validates the ID token (signature, issuer, audience).
	tokens, err := auth.Passwordless.LoginWithSMS(ctx, passwordless.LoginWithSMSRequest{
		PhoneNumber: phone, Code: code[1], Scope: "openid profile phone",
	}, oauth.IDTokenValidationOptions{})
	if err != nil {
		t.Fatalf("LoginWithSMS: %v", err)
	}
	if tokens.AccessToken == "" || tokens.IDToken == "" || tokens.TokenType != "Bearer" {
		t.Fatalf("tokens = %+v", tokens)
	}
	info, err := auth.UserInfo(ctx, tokens.AccessToken)
	if err != nil || info.PhoneNumber != phone || !info.PhoneNumberVerified || !strings.HasPrefix(info.Sub, "sms|") {
		t.Fatalf("UserInfo: %+v %v", info, err)
	}

	// A used code comes back as the SDK's error with Auth0's strings.
	_, err = auth.Passwordless.LoginWithSMS(ctx, passwordless.LoginWithSMSRequest{
		PhoneNumber: phone, Code: code[1], Scope: "openid",
	}, oauth.IDTokenValidationOptions{})
	var aerr *authentication.Error
	if err == nil || !asAuthError(err, &aerr) || aerr.StatusCode != 403 || aerr.Err != "invalid_grant" || aerr.Message != "Wrong phone number or verification code." {
		t.Fatalf("used code: %v", err)
	}
	if strings.Contains(p.stderr.String(), code[1]) {
		t.Errorf("the code appears in the log")
	}
}

func asAuthError(err error, target **authentication.Error) bool {
	e, ok := err.(*authentication.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestServe_RefusesATenantFileWithATypo(t *testing.T) {
	dir := t.TempDir()
	tenantFile := filepath.Join(dir, "tenant.yaml")
	if err := os.WriteFile(tenantFile, []byte(`
clients:
  - name: My App
    grant_type: [authorization_code]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	err := run(context.Background(), []string{"serve", "--listen", freeAddr(t), "--tenant", tenantFile, "--database", "sqlite:" + filepath.Join(dir, "s.db")},
		func(string) string { return "" }, &stdout, &stderr)
	if err == nil {
		t.Fatal("serve started with a misspelled field")
	}
	for _, want := range []string{"tenant.yaml", "My App", `"grant_type"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestBlocks_ListAndClear(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "b.db")
	getenv := func(k string) string {
		if k == "SESAME_DATABASE" {
			return db
		}
		return ""
	}
	sesame := func(args ...string) string {
		t.Helper()
		var stdout, stderr syncBuffer
		if err := run(context.Background(), args, getenv, &stdout, &stderr); err != nil {
			t.Fatalf("sesame %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String()
	}
	if out := sesame("blocks", "list"); !strings.Contains(out, "no blocks in force") {
		t.Fatalf("blocks list on an empty database: %q", out)
	}

	ctx := context.Background()
	st, err := app.OpenStore(ctx, app.Config{Database: db})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// Blocks come of wrong guesses, as on a running server.
	n := 0
	block := func(connection, identifier string, at time.Time, g store.Guard) {
		t.Helper()
		n++
		id := fmt.Sprint("c", n)
		if _, err := st.CreateCode(ctx, store.Code{ID: id, Connection: connection, Identifier: identifier, CodeHMAC: []byte("right"),
			ClientID: "app", Send: "code", CreatedAt: at, ExpiresAt: at.Add(time.Hour), MaxTries: 3}, nil, nil); err != nil {
			t.Fatal(err)
		}
		g.Protect = true
		g.NewID = func() (string, error) { return id + "-block", nil }
		res, err := st.GuessCode(ctx, connection, identifier, [][]byte{[]byte("wrong")}, at, true, g)
		if !errors.Is(err, store.ErrCodeWrong) || len(res.NewBlocks) != 1 {
			t.Fatalf("wrong guess: %+v, %v; want one block", res.NewBlocks, err)
		}
	}
	block("email", "victim@example.com", now, store.Guard{IP: "198.51.100.1", PairThreshold: 1, PairBlock: time.Hour})
	block("sms", "+16502530000", now, store.Guard{IP: "198.51.100.2", AccountThreshold: 1, AccountWindow: time.Hour})
	block("email", "someone@example.com", now, store.Guard{IP: "203.0.113.9", IPThreshold: 1, IPWindow: time.Hour})
	block("email", "old@example.com", now.Add(-2*time.Hour), store.Guard{IP: "198.51.100.3", PairThreshold: 1, PairBlock: time.Hour})
	st.Close()

	out := sesame("blocks", "list", "--database", db)
	for _, want := range []string{"victim@example.com", "198.51.100.1", "+16502530000", "account lockout", "203.0.113.9"} {
		if !strings.Contains(out, want) {
			t.Errorf("blocks list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "old@example.com") {
		t.Errorf("blocks list shows an ended block:\n%s", out)
	}
	// Identifiers are typed as people type them.
	if out := sesame("blocks", "clear", " Victim@Example.COM "); !strings.Contains(out, "cleared 1 block") {
		t.Errorf("blocks clear: %q", out)
	}
	if out := sesame("blocks", "clear", "+1 650 253 0000"); !strings.Contains(out, "cleared 1 block") {
		t.Errorf("blocks clear of a number: %q", out)
	}
	if out := sesame("blocks", "clear", "203.0.113.9"); !strings.Contains(out, "cleared 1 block") {
		t.Errorf("blocks clear of an address: %q", out)
	}
	if out := sesame("blocks", "list"); !strings.Contains(out, "no blocks in force") {
		t.Errorf("blocks list after clearing: %q", out)
	}
	var stdout, stderr syncBuffer
	if err := run(ctx, []string{"blocks", "drop", "x"}, getenv, &stdout, &stderr); err == nil {
		t.Error("blocks drop succeeded")
	}
}

func TestKeys_ListAndRotate(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "k.db")
	getenv := func(k string) string {
		if k == "SESAME_DATABASE" {
			return db
		}
		return ""
	}
	sesame := func(args ...string) string {
		t.Helper()
		var stdout, stderr syncBuffer
		if err := run(context.Background(), args, getenv, &stdout, &stderr); err != nil {
			t.Fatalf("sesame %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		out := stdout.String()
		if strings.Contains(out, "PRIVATE KEY") {
			t.Fatalf("sesame %s prints a private key", strings.Join(args, " "))
		}
		return out
	}
	if out := sesame("keys", "list"); !strings.Contains(out, "no signing keys") {
		t.Fatalf("keys list on an empty database: %q", out)
	}
	// The key a server makes on its first start.
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Issuer: "http://127.0.0.1:1/", Database: db}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := a.Keys.Current("RS256")
	a.Close()

	before := time.Now().Truncate(time.Second)
	out := sesame("keys", "rotate", "--database", db)
	if !strings.Contains(out, "stays in the JWKS until") || !strings.Contains(out, first) {
		t.Errorf("keys rotate: %q", out)
	}
	st, err := app.OpenStore(ctx, app.Config{Database: db})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := st.SigningKeys(ctx, time.Now())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[1].KID != first || keys[0].Algorithm != "RS256" || !keys[0].RotatedAt.IsZero() {
		t.Fatalf("after keys rotate the store holds %d keys, want a new current RS256 key and %s rotated", len(keys), first)
	}
	// The development tenant's longest token is an access token of a day;
	// replicas may sign with the old key up to three reload intervals (20 s)
	// more, and 5 minutes cover clock drift.
	want := 24*time.Hour + 3*20*time.Second + 5*time.Minute
	if got := keys[1].PublishedUntil.Sub(keys[1].RotatedAt); got != want {
		t.Errorf("the replaced key is published for %v after its rotation, want %v", got, want)
	}
	if keys[1].RotatedAt.Before(before) {
		t.Errorf("rotated at %v, before the command ran", keys[1].RotatedAt)
	}

	out = sesame("keys", "rotate", "--alg", "ES256")
	if !strings.Contains(out, "ES256 key") || !strings.Contains(out, "no ES256 key before") {
		t.Errorf("keys rotate --alg ES256 on a database without one: %q", out)
	}
	out = sesame("keys", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "KID") {
		t.Fatalf("keys list: want a header and 3 keys:\n%s", out)
	}
	for _, want := range []string{keys[0].KID, first, "ES256", "current", "rotated", keys[1].PublishedUntil.UTC().Format(time.RFC3339)} {
		if !strings.Contains(out, want) {
			t.Errorf("keys list lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range [][]string{{"keys", "rotate", "--alg", "HS256"}, {"keys", "drop"}, {"keys"}} {
		var stdout, stderr syncBuffer
		if err := run(ctx, bad, getenv, &stdout, &stderr); err == nil {
			t.Errorf("sesame %s succeeded", strings.Join(bad, " "))
		}
	}
}
