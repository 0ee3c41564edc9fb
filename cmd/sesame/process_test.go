package main

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/smstest"
	"github.com/sesame-id/sesame/internal/smtptest"
)

// These tests run the real binary as its own process, as an operator (or a
// container runtime) does: signals, exit codes, several replicas.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// testVersion is the version the tests' binary is built with.
const testVersion = "v0.0.0-test"

// sesameBinary builds cmd/sesame once per test run, with
// scripts/build.sh: the container image's build (static, trimmed, the
// version stamped), so that a change that breaks it fails here.
func sesameBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sesame-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "sesame")
		cmd := exec.Command("sh", "scripts/build.sh", binPath)
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "VERSION="+testVersion)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("scripts/build.sh: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running sesame process.
type proc struct {
	cmd    *exec.Cmd
	base   string // http://addr/
	out    *syncBuffer
	exited chan error
}

// spawn starts `sesame serve` with args and environment env (on top of a
// minimal one) and waits until /healthz answers.
func spawn(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := launch(t, env, args...)
	p.waitUp(t)
	return p
}

// launch starts `sesame serve` and returns at once.
func launch(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(sesameBinary(t), append([]string{"serve", "--listen", addr}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	p := &proc{cmd: cmd, base: "http://" + addr + "/", out: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// waitUp waits until the process answers /healthz.
func (p *proc) waitUp(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(p.base + "healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("sesame exited at start: %v\n%s", err, p.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sesame did not come up:\n%s", p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServe_SIGTERMFinishesWhatIsInFlight: on SIGTERM the server stops
// accepting, answers the request it is in the middle of (an SMS start
// waiting on a slow provider), lets the delivery worker finish the mail it
// is sending, and exits 0.
func TestServe_SIGTERMFinishesWhatIsInFlight(t *testing.T) {
	dir := t.TempDir()
	sink := smtptest.Start(t)
	sink.SlowData(time.Second)
	host, port, _ := net.SplitHostPort(sink.Addr)
	const (
		clientID, secret = "termClient0000000000000000000001", "term-client-secret-0123456789-abcdefghijklm"
		sid, token       = "AC0123456789abcdef0123456789abcdef", "twilio-auth-token-0123456789abcdef"
	)
	twilio := smstest.StartTwilio(t, sid, token)
	twilio.Respond(func(w http.ResponseWriter, form url.Values) {
		time.Sleep(time.Second)
		smstest.WriteMessage(w, "SM0123456789abcdef0123456789abcdef", form)
	})
	tenantFile := filepath.Join(dir, "tenant.yaml")
	if err := os.WriteFile(tenantFile, []byte(fmt.Sprintf(`
clients:
  - name: App
    client_id: %s
    client_secret: %s
    app_type: regular_web
    grant_types: [http://auth0.com/oauth/grant-type/passwordless/otp]
connections:
  - name: email
    strategy: email
    enabled_clients: [App]
  - name: sms
    strategy: sms
    enabled_clients: [App]
    options: {twilio_sid: %s, twilio_token: %s, from: "+16502530000"}
emailProvider:
  name: smtp
  default_from_address: login@example.com
  credentials: {smtp_host: %s, smtp_port: %s}
`, clientID, secret, sid, token, host, port)), 0o600); err != nil {
		t.Fatal(err)
	}
	p := spawn(t, nil, "--tenant", tenantFile, "--database", "sqlite:"+filepath.Join(dir, "s.db"), "--twilio-api-url", twilio.URL,
		"--delivery-concurrency", "4")

	start := func(body string) (int, error) {
		res, err := http.Post(p.base+"passwordless/start", "application/json", strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	// More mails than the worker sends at once (4): some wait in hand for a
	// sender when the signal comes.
	const mails = 7
	for i := range mails {
		if status, err := start(fmt.Sprintf(`{"client_id":"%s","client_secret":"%s","connection":"email","email":"term%d@example.com","send":"code"}`, clientID, secret, i)); err != nil || status != 200 {
			t.Fatalf("email start: %d %v", status, err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); sink.InData() == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the mail never reached the SMTP server")
		}
		time.Sleep(10 * time.Millisecond)
	}
	type answer struct {
		status int
		err    error
	}
	smsDone := make(chan answer, 1)
	go func() {
		s, err := start(`{"client_id":"` + clientID + `","client_secret":"` + secret + `","connection":"sms","phone_number":"+16502530198"}`)
		smsDone <- answer{s, err}
	}()
	for deadline := time.Now().Add(10 * time.Second); len(twilio.Messages()) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	// Both are in flight now: the mail in the SMTP server's DATA, the SMS
	// start waiting on Twilio.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("sesame exited with %v after SIGTERM:\n%s", err, p.out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("sesame did not exit after SIGTERM:\n%s", p.out)
	}
	if a := <-smsDone; a.err != nil || a.status != 200 {
		t.Errorf("the SMS start in flight at SIGTERM: %d %v", a.status, a.err)
	}
	if n := len(sink.Messages()); n != mails {
		t.Errorf("%d of the %d mails queued before SIGTERM were delivered, want all", n, mails)
	}
	// It stopped accepting.
	if _, err := http.Get(p.base + "healthz"); err == nil {
		t.Errorf("still answering after exit")
	}
}

// --pprof-listen serves the profiler on its own address, and the main
// listener does not.
func TestServe_PprofOnItsOwnAddress(t *testing.T) {
	dir := t.TempDir()
	pprofAddr := freeAddr(t)
	p := spawn(t, nil, "--database", "sqlite:"+filepath.Join(dir, "s.db"), "--pprof-listen", pprofAddr)
	res, err := http.Get("http://" + pprofAddr + "/debug/pprof/")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET pprof: %v %v", res, err)
	}
	res.Body.Close()
	res, err = http.Get(p.base + "debug/pprof/")
	if err != nil || res.StatusCode != 404 {
		t.Fatalf("the main listener answers the profiler: %v %v", res, err)
	}
	res.Body.Close()
}

// TestBinary_VersionAndHealthcheck runs the binary the image's build makes:
// `sesame version` names the stamped version and the VCS revision it was
// built from, and `sesame healthcheck` succeeds against a running server
// (found through SESAME_LISTEN, as in the container) and fails where none
// answers.
func TestBinary_VersionAndHealthcheck(t *testing.T) {
	bin := sesameBinary(t)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "sesame "+testVersion+" ") {
		t.Fatalf("sesame version: %v %q", err, out)
	}
	// The revision, when Go stamped one (not in a linked git worktree,
	// where .git is a file and -buildvcs finds no repository).
	if info, err := exec.Command("go", "version", "-m", bin).Output(); err == nil {
		if m := regexp.MustCompile(`vcs\.revision=([0-9a-f]+)`).FindSubmatch(info); m != nil && !strings.Contains(string(out), "revision "+string(m[1])) {
			t.Errorf("sesame version = %q, want the revision %s", out, m[1])
		}
	}
	if ls, err := exec.Command("go", "version", bin).Output(); err == nil && !strings.Contains(string(out), strings.Fields(string(ls))[1]) {
		t.Errorf("sesame version = %q, want the Go version of %q", out, ls)
	}

	p := spawn(t, nil, "--database", "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
	listen := strings.TrimSuffix(strings.TrimPrefix(p.base, "http://"), "/")
	hc := exec.Command(bin, "healthcheck")
	hc.Env = []string{"SESAME_LISTEN=" + listen}
	if out, err := hc.CombinedOutput(); err != nil {
		t.Errorf("healthcheck of a running server: %v %s", err, out)
	}
	_, port, _ := strings.Cut(listen, ":")
	hc = exec.Command(bin, "healthcheck")
	hc.Env = []string{"SESAME_LISTEN=0.0.0.0:" + port} // the container's address: checked on loopback
	if out, err := hc.CombinedOutput(); err != nil {
		t.Errorf("healthcheck with SESAME_LISTEN on every interface: %v %s", err, out)
	}
	hc = exec.Command(bin, "healthcheck", "--url", "http://"+freeAddr(t)+"/healthz")
	if out, err := hc.CombinedOutput(); err == nil {
		t.Errorf("healthcheck where nothing listens succeeded: %s", out)
	}
}
