package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/smtptest"
	"github.com/sesame-id/sesame/internal/store/postgres/pgtest"
)

// These tests run three real `sesame serve` processes on one PostgreSQL
// database, behind a round-robin proxy, the way a team runs Sesame when it
// outgrows one machine.

const (
	replicaClientID = "replicaApp000000000000000000001"
	replicaSecret   = "replica-client-secret-0123456789-abcdefghijk"
	replicaAPI      = "https://api.replicas.example.com/"
)

// replicaTenant is the tenant file every replica is started with.
func replicaTenant(t *testing.T, sink *smtptest.Server) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(sink.Addr)
	file := filepath.Join(t.TempDir(), "tenant.yaml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(`
clients:
  - name: App
    client_id: %s
    client_secret: %s
    app_type: regular_web
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp, refresh_token]
    refresh_token:
      rotation_type: rotating
      expiration_type: expiring
      leeway: 0
connections:
  - name: email
    strategy: email
    enabled_clients: [App]
resourceServers:
  - name: API
    identifier: %s
    allow_offline_access: true
    token_lifetime: 3600
emailProvider:
  name: smtp
  default_from_address: login@example.com
  credentials: {smtp_host: %s, smtp_port: %s}
`, replicaClientID, replicaSecret, replicaAPI, host, port)), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// roundRobin is the load balancer in front of the replicas: each request
// goes to the next replica, and a replica that does not answer (it died) is
// skipped, as a load balancer with passive health checks does. It tells the
// replicas the end user's address in X-Forwarded-For; the test names that
// address in X-Test-Client-IP, standing in for many users' machines. Each
// answer says which replica gave it in X-Replica.
type roundRobin struct {
	backends []string // http://addr/
	client   *http.Client

	mu   sync.Mutex
	next int
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	rr.mu.Lock()
	first := rr.next
	rr.next++
	rr.mu.Unlock()
	for i := range rr.backends {
		n := (first + i) % len(rr.backends)
		req, err := http.NewRequestWithContext(r.Context(), r.Method, strings.TrimSuffix(rr.backends[n], "/")+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		req.Host = r.Host
		client := r.Header.Get("X-Test-Client-IP")
		if client == "" {
			client, _, _ = net.SplitHostPort(r.RemoteAddr)
		}
		req.Header.Del("X-Test-Client-IP")
		req.Header.Set("X-Forwarded-For", client)
		res, err := rr.client.Do(req)
		if err != nil {
			continue // that replica is gone; the next one answers
		}
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.Header().Set("X-Replica", strconv.Itoa(n))
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
		res.Body.Close()
		return
	}
	http.Error(w, "no replica answered", http.StatusBadGateway)
}

// cluster is three replicas behind a proxy.
type cluster struct {
	t      *testing.T
	db     string
	proxy  *httptest.Server
	procs  []*proc
	sink   *smtptest.Server
	client *http.Client
}

// startCluster starts n `sesame serve` processes at the same moment on one
// empty PostgreSQL database and one tenant file, and waits until all answer.
func startCluster(t *testing.T, n int, extra ...string) *cluster {
	t.Helper()
	db := pgtest.URL(t)
	c := &cluster{t: t, db: db, sink: smtptest.Start(t), client: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	rr := &roundRobin{client: &http.Client{Timeout: 30 * time.Second, CheckRedirect: c.client.CheckRedirect}}
	c.proxy = httptest.NewServer(rr)
	t.Cleanup(c.proxy.Close)
	tenantFile := replicaTenant(t, c.sink)
	secretsFile := filepath.Join(t.TempDir(), "secrets.json")
	if err := run(context.Background(), []string{"secrets", "generate", "--output", secretsFile}, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"--database", db, "--tenant", tenantFile, "--secrets-file", secretsFile, "--issuer", c.proxy.URL + "/",
		"--trusted-proxies", "127.0.0.1/32",
	}, extra...)
	for range n {
		p := launch(t, nil, args...)
		c.procs = append(c.procs, p)
		rr.backends = append(rr.backends, p.base)
	}
	for _, p := range c.procs {
		p.waitUp(t)
	}
	return c
}

// call sends a request through the proxy as the end user at ip and returns
// the status, the decoded JSON body and which replica answered.
func (c *cluster) call(method, path, ip string, form url.Values, jsonBody string) (int, map[string]any, int) {
	c.t.Helper()
	var body io.Reader
	req, err := http.NewRequest(method, c.proxy.URL+path, nil)
	switch {
	case form != nil:
		body = strings.NewReader(form.Encode())
		req, err = http.NewRequest(method, c.proxy.URL+path, body)
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	case jsonBody != "":
		req, err = http.NewRequest(method, c.proxy.URL+path, strings.NewReader(jsonBody))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		c.t.Fatal(err)
	}
	if ip != "" {
		req.Header.Set("X-Test-Client-IP", ip)
	}
	res, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	replica, _ := strconv.Atoi(res.Header.Get("X-Replica"))
	return res.StatusCode, out, replica
}

func (c *cluster) start(email, ip string) (int, int) {
	c.t.Helper()
	status, _, replica := c.call("POST", "/passwordless/start", ip, nil, fmt.Sprintf(
		`{"client_id":%q,"client_secret":%q,"connection":"email","email":%q,"send":"code"}`, replicaClientID, replicaSecret, email))
	return status, replica
}

func (c *cluster) otp(email, code, ip string) (int, map[string]any, int) {
	c.t.Helper()
	return c.call("POST", "/oauth/token", ip, url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/passwordless/otp"},
		"client_id":  {replicaClientID}, "client_secret": {replicaSecret},
		"username": {email}, "otp": {code}, "realm": {"email"},
		"scope": {"openid offline_access"}, "audience": {replicaAPI},
	}, "")
}

var sixDigits = regexp.MustCompile(`\b(\d{6})\b`)

// codeFor waits for the mail to email and returns the code in it.
func (c *cluster) codeFor(email string, timeout time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, m := range c.sink.Messages() {
			if len(m.To) == 1 && m.To[0] == email {
				if match := sixDigits.FindStringSubmatch(m.Text); match != nil {
					return match[1]
				}
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no mail for %s after %v", email, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// verifyWith checks a JWT against the JWKS one replica publishes.
func verifyWith(t *testing.T, base, token string) error {
	t.Helper()
	res, err := http.Get(base + ".well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return err
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) == 0 {
		return fmt.Errorf("kid %s is not in %sjwks.json", kid, base)
	}
	_, err = jws.Verify(keys[0])
	return err
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header.KeyID
}

// TestReplicas_ThreeProcessesOnOnePostgres: three replicas started at once
// on an empty database all come up (they migrated it once between them); a
// login started on one finishes on another and is refreshed on a third; the
// per-IP limit on /passwordless/start is counted across all three; a key
// rotated through one signs on the others within the reload interval, and
// the old key still verifies what it signed.
func TestReplicas_ThreeProcessesOnOnePostgres(t *testing.T) {
	c := startCluster(t, 3, "--limit-start-ip", "6/1h", "--key-reload-interval", "1s")

	// One login across three replicas.
	status, startedOn := c.start("alice@example.com", "198.51.100.1")
	if status != 200 {
		t.Fatalf("start: %d", status)
	}
	code := c.codeFor("alice@example.com", 10*time.Second)
	status, tok, finishedOn := c.otp("alice@example.com", code, "198.51.100.1")
	if status != 200 {
		t.Fatalf("code exchange on replica %d: %d %v", finishedOn, status, tok)
	}
	if finishedOn == startedOn {
		t.Fatalf("the login started and finished on replica %d; the proxy should have moved it", startedOn)
	}
	status, refreshed, refreshedOn := c.call("POST", "/oauth/token", "198.51.100.1", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {replicaClientID}, "client_secret": {replicaSecret},
		"refresh_token": {fmt.Sprint(tok["refresh_token"])},
	}, "")
	if status != 200 || refreshed["access_token"] == nil {
		t.Fatalf("refresh on replica %d: %d %v", refreshedOn, status, refreshed)
	}
	if refreshedOn == startedOn || refreshedOn == finishedOn {
		t.Fatalf("start on %d, exchange on %d, refresh on %d: want three replicas", startedOn, finishedOn, refreshedOn)
	}
	// The rotated refresh token is spent on every replica.
	for range 3 {
		status, body, on := c.call("POST", "/oauth/token", "198.51.100.1", url.Values{
			"grant_type": {"refresh_token"}, "client_id": {replicaClientID}, "client_secret": {replicaSecret},
			"refresh_token": {fmt.Sprint(tok["refresh_token"])},
		}, "")
		if status != 403 {
			t.Fatalf("reusing a rotated refresh token on replica %d: %d %v, want 403", on, status, body)
		}
	}
	// The code is spent on every replica too.
	for range 3 {
		if status, body, on := c.otp("alice@example.com", code, "198.51.100.1"); status != 403 {
			t.Fatalf("replaying the code on replica %d: %d %v, want 403", on, status, body)
		}
	}

	// The per-IP limit is one bucket for the three replicas: 6 starts an
	// hour from one address, whichever replica they reach.
	allowed, limited := 0, 0
	seen := map[int]bool{}
	for i := range 9 {
		status, on := c.start(fmt.Sprintf("limit%d@example.com", i), "203.0.113.9")
		seen[on] = true
		switch status {
		case 200:
			allowed++
		case 429:
			limited++
		default:
			t.Fatalf("start %d: %d", i, status)
		}
	}
	if allowed != 6 || limited != 3 || len(seen) != 3 {
		t.Fatalf("9 starts from one IP over replicas %v: %d allowed, %d limited; want 6 and 3", seen, allowed, limited)
	}
	if status, _ := c.start("other-ip@example.com", "203.0.113.10"); status != 200 {
		t.Fatalf("another IP was limited too: %d", status)
	}

	// Key rotation through one replica's database, seen by all.
	oldToken := fmt.Sprint(tok["access_token"])
	oldKID := kidOf(t, oldToken)
	var out, errOut syncBuffer
	rotate := exec.Command(sesameBinary(t), "keys", "rotate", "--database", c.db)
	rotate.Stdout, rotate.Stderr = &out, &errOut
	if err := rotate.Run(); err != nil {
		t.Fatalf("sesame keys rotate: %v\n%s%s", err, out.String(), errOut.String())
	}
	deadline := time.Now().Add(time.Minute)
	for i, newOn := 0, map[int]bool{}; len(newOn) < 3; i++ {
		ip := fmt.Sprintf("198.51.%d.%d", 101+i/250, 1+i%250) // one each: the start limit is 6 an hour
		if time.Now().After(deadline) {
			t.Fatalf("after a minute only replicas %v sign with the new key", newOn)
		}
		email := fmt.Sprintf("rotated%d@example.com", time.Now().UnixNano())
		if status, _ := c.start(email, ip); status != 200 {
			t.Fatalf("start after rotation: %d", status)
		}
		status, tok, on := c.otp(email, c.codeFor(email, 10*time.Second), ip)
		if status != 200 {
			t.Fatalf("login after rotation: %d %v", status, tok)
		}
		token := fmt.Sprint(tok["access_token"])
		if kidOf(t, token) == oldKID {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		newOn[on] = true
		// Whatever replica signed it, every replica's JWKS verifies it, and
		// still verifies the token the old key signed.
		for i, p := range c.procs {
			if err := verifyWith(t, p.base, token); err != nil {
				t.Fatalf("a token replica %d signed with the new key does not verify on replica %d: %v", on, i, err)
			}
			if err := verifyWith(t, p.base, oldToken); err != nil {
				t.Fatalf("a token signed before the rotation no longer verifies on replica %d: %v", i, err)
			}
		}
	}
}

// TestReplicas_KillOneUnderLoad: one of three replicas is killed with
// SIGKILL while mail is being sent. Every message queued still arrives
// (another replica sends what the dead one had claimed, once its lease
// runs out), and no code is redeemed twice.
func TestReplicas_KillOneUnderLoad(t *testing.T) {
	// Few enough mails that the two survivors send theirs in about a
	// second; each takes 400 ms to hand over, so the replica killed is in
	// the middle of sending what it claimed. A mail that took longer than
	// the lease was one the dead replica held. One sender a replica, so a
	// replica holds at most two mails and the first starts spread over all
	// three: the one killed holds some.
	const lease = 5 * time.Second
	c := startCluster(t, 3, "--outbox-lease", lease.String(), "--delivery-concurrency", "1")
	c.sink.SlowData(400 * time.Millisecond)

	const users = 12
	emails := make([]string, users)
	var wg sync.WaitGroup
	statuses := make([]int, users)
	for i := range users {
		emails[i] = fmt.Sprintf("load%02d@example.com", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = c.start(emails[i], fmt.Sprintf("198.51.100.%d", 10+i))
		}()
		if i == users/2 {
			// Half the load is in: kill a replica while it sends.
			time.Sleep(100 * time.Millisecond)
			if err := c.procs[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-c.procs[0].exited
			t.Logf("killed replica 0 with %d of %d mails delivered", len(c.sink.Messages()), i)
		}
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Fatalf("start for %s: %d", emails[i], s)
		}
	}
	// Every message arrives: what replica 0 held goes out from another
	// after its lease.
	codes := make([]string, users)
	for i, e := range emails {
		codes[i] = c.codeFor(e, 30*time.Second)
	}
	// The dead replica held messages: they went out only after its lease
	// ran out, from another replica.
	conn, err := pgx.Connect(context.Background(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// Nothing stays queued: what the dead replica held is sent by another
	// once its lease ran out (a mail it had handed over just before it
	// died goes out twice: delivery is at least once).
	var waited, sent, pending int
	for deadline := time.Now().Add(lease + 15*time.Second); ; {
		if err := conn.QueryRow(context.Background(),
			`SELECT count(*) FILTER (WHERE status = 'sent' AND sent_at - created_at >= $1::interval),
			        count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status <> 'sent') FROM outbox`,
			lease.String()).Scan(&waited, &sent, &pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still not sent %v after the kill", pending, lease+15*time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if sent != users {
		t.Errorf("%d messages sent, want %d", sent, users)
	}
	t.Logf("%d of %d messages waited out the dead replica's lease", waited, sent)
	if waited == 0 {
		t.Errorf("no message waited for a lease: the killed replica held none, so the test proved nothing")
	}
	// Each code is redeemed once, however many replicas race for it.
	for i, e := range emails {
		results := make([]int, 4)
		var wg sync.WaitGroup
		for j := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[j], _, _ = c.otp(e, codes[i], fmt.Sprintf("198.51.100.%d", 10+i))
			}()
		}
		wg.Wait()
		ok := 0
		for _, s := range results {
			if s == 200 {
				ok++
			} else if s != 403 {
				t.Errorf("redeeming %s's code: %d", e, s)
			}
		}
		if ok != 1 {
			t.Errorf("%s's code was redeemed %d times, want exactly once", e, ok)
		}
	}
}
