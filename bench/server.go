package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The bench tenant's clients and APIs.
const (
	webClientID = "benchWebClient000000000000000001"
	webSecret   = "bench-web-secret-that-is-long-enough-000001"
	webCallback = "https://app.bench.example/callback"
	esClientID  = "benchESClient0000000000000000001"
	apiAudience = "https://api.bench.example/"
	esAudience  = "https://es.bench.example/"
)

// tenantYAML is the tenant the bench starts Sesame with; %SMTP_HOST% and
// %SMTP_PORT% are the mail sink's.
const tenantYAML = `
clients:
  - name: Bench Web
    client_id: ` + webClientID + `
    client_secret: ` + webSecret + `
    app_type: regular_web
    token_endpoint_auth_method: client_secret_post
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp, refresh_token, authorization_code]
    callbacks: [` + webCallback + `]
  - name: Bench ES
    client_id: ` + esClientID + `
    app_type: native
    token_endpoint_auth_method: none
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp]
    jwt_configuration: {alg: ES256}
connections:
  - name: email
    strategy: email
    enabled_clients: [Bench Web, Bench ES]
  - name: sms
    strategy: sms
    enabled_clients: [Bench Web]
    options:
      twilio_sid: ` + twilioSID + `
      twilio_token: ` + twilioToken + `
      from: "+16502530000"
      sesame: {allowed_country_codes: ["+1"]}
resourceServers:
  - name: Bench API
    identifier: ` + apiAudience + `
    allow_offline_access: true
    scopes:
      - value: read:things
  - name: Bench ES API
    identifier: ` + esAudience + `
    signing_alg: ES256
emailProvider:
  name: smtp
  default_from_address: login@bench.example
  credentials:
    smtp_host: %SMTP_HOST%
    smtp_port: %SMTP_PORT%
`

// loadLimits replace the rate limits for the run. Every virtual user comes
// from 127.0.0.1, so the per-IP limits (50 starts an hour by default) would
// refuse the load after a few requests; every bucket is still taken, in
// the same transactions, so the cost of the limits is measured.
var loadLimits = []string{
	"--limit-start-ip", "1000000000/1h",
	"--limit-recipient", "1000000000/1h",
	"--limit-recipient-day", "1000000000/24h",
	"--limit-verify-ip", "1000000000/1h",
	"--limit-token-ip", "1000000000/1h",
	"--limit-sms-country", "1000000000/1h",
	"--limit-userinfo", "1000000000/1h",
}

// sesameProcess is a `sesame serve` the bench started.
type sesameProcess struct {
	URL string
	Log string // its log file
	cmd *exec.Cmd
}

// buildSesame builds cmd/sesame into dir. The bench runs inside the module
// (go run ./bench), so the package path resolves to this checkout.
func buildSesame(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "sesame")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/sesame-id/sesame/cmd/sesame")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build sesame: %w", err)
	}
	return bin, nil
}

// startSesame runs bin serve on a free loopback port with the bench tenant
// (mail to smtpAddr, Twilio at twilioURL) and the database, and waits
// until it is ready.
func startSesame(ctx context.Context, bin, dir, database, smtpAddr, twilioURL string, extra []string) (*sesameProcess, error) {
	host, port, _ := net.SplitHostPort(smtpAddr)
	tenant := filepath.Join(dir, "tenant.yaml")
	yaml := strings.NewReplacer("%SMTP_HOST%", host, "%SMTP_PORT%", port).Replace(tenantYAML)
	if err := os.WriteFile(tenant, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "sesame.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	// The keys of code HMACs and queued mail: PostgreSQL needs them given.
	keys := filepath.Join(dir, "keys.json")
	if _, err := os.Stat(keys); os.IsNotExist(err) {
		if out, err := exec.CommandContext(ctx, bin, "secrets", "generate", "--output", keys).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("sesame secrets generate: %v: %s", err, out)
		}
	}
	args := append([]string{"serve", "--database", database, "--tenant", tenant, "--listen", listen,
		"--secrets-file", keys, "--twilio-api-url", twilioURL}, loadLimits...)
	args = append(args, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The server's configuration is the flags above, not the caller's
	// SESAME_* environment.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SESAME_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sesame: %w", err)
	}
	p := &sesameProcess{URL: "http://" + listen + "/", Log: logPath, cmd: cmd}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("sesame exited before it was ready (%v); its log:\n%s", err, tail(logPath, 30))
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		res, err := http.Get(p.URL + "readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				go func() { <-exited }()
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("sesame not ready after 60s; its log:\n%s", tail(logPath, 30))
		}
	}
}

// Pid is the server's process id.
func (p *sesameProcess) Pid() int { return p.cmd.Process.Pid }

// Stop asks the server to stop (SIGTERM), and kills it after 10 s.
func (p *sesameProcess) Stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() {
		for processAlive(p.Pid()) {
			time.Sleep(20 * time.Millisecond)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie (state Z) has exited.
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// procStats reads a process's CPU time and memory from /proc (Linux).
type procStats struct{ pid int }

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports (the kernel's ABI, whatever CONFIG_HZ is).
const clockTicks = 100

// CPU is the user and system time the process has used.
func (p procStats) CPU() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces): state is
	// field 3, utime 14, stime 15.
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return 0, errors.New("unexpected /proc stat")
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(u+s) * time.Second / clockTicks, nil
}

// Memory returns VmRSS and VmHWM (the peak RSS) in bytes.
func (p procStats) Memory() (rss, peak int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb * 1024
		case "VmHWM":
			peak = kb * 1024
		}
	}
	return rss, peak, sc.Err()
}

// ResetPeak starts a new VmHWM (writing 5 to clear_refs, Linux ≥ 4.0), so
// that each flow reports its own peak. It fails for another user's process.
func (p procStats) ResetPeak() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.pid), []byte("5"), 0)
}
