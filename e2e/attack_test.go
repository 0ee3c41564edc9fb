package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/passwordless"
)

// attackGuess is one guess of the simulated attacker: over /oauth/token or
// /passwordless/verify, from ip. It reports the status and Auth0 error.
func (e *env) attackGuess(viaVerify bool, email, code, ip string) (status int, errCode, desc string, err error) {
	var req *http.Request
	if viaVerify {
		b, _ := json.Marshal(map[string]any{"client_id": nativeClientID, "connection": "email", "email": email,
			"verification_code": code, "grant_type": "http://auth0.com/oauth/grant-type/passwordless/otp"})
		req, _ = http.NewRequest(http.MethodPost, e.URL+"passwordless/verify", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
	} else {
		f := url.Values{"grant_type": {"http://auth0.com/oauth/grant-type/passwordless/otp"}, "client_id": {nativeClientID},
			"username": {email}, "otp": {code}, "realm": {"email"}}
		req, _ = http.NewRequest(http.MethodPost, e.URL+"oauth/token", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("X-Forwarded-For", ip)
	res, err := e.HTTP.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var eb struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &eb)
	return res.StatusCode, eb.Error, eb.Description, nil
}

// TestAttack_ManyAddressesGuessingForADay simulates the attack issue 5 is
// about: an attacker with as many addresses as it likes asks for a fresh code
// for one account every few minutes and has many workers guess at it, each
// guess from a new address, through both endpoints that check codes, for a
// whole simulated day (the clock is moved, nothing sleeps). The server must
// let through no more guesses than the bound docs/SECURITY.md states, which
// is computed here from the live configuration.
//
// The guesses are random, so the attacker could in principle be lucky: with
// the defaults the chance is the bound itself, about 3 in 100,000 per run.
// A guess that happens to equal an earlier, dead code of the account is
// answered "wrong" but not counted (it cannot be right); that makes one more
// "wrong" answer than the bound about 3 times in 10,000 runs.
func TestAttack_ManyAddressesGuessingForADay(t *testing.T) {
	e := newEnv(t, envOptions{clock: true, trustedProxies: loopback, limits: realLimits(nil)})
	const victim = "target@example.com"

	// The bound from the live configuration.
	conn := e.App.Server.Tenant().Connection("email")
	protection := e.App.Server.Passwordless.Protection
	length := conn.Options.TOTP.Length
	if length == 0 {
		length = 6
	}
	maxGuesses := passwordless.MaxGuesses(protection)
	bound := passwordless.TakeoverBound(length, protection, conn.Options.BruteForceProtection)
	if bound >= 1e-4 {
		t.Fatalf("takeover bound with the live configuration = %g, want below 1 in 10,000", bound)
	}
	docs, err := os.ReadFile("../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("at most %d guesses", maxGuesses),
		"1 in " + thousands(int(math.Round(1/bound))),
	} {
		if !strings.Contains(string(docs), want) {
			t.Errorf("docs/SECURITY.md does not state the bound of the live configuration: no %q", want)
		}
	}

	var addr atomic.Int64
	nextIP := func() string {
		n := addr.Add(1)
		return fmt.Sprintf("198.18.%d.%d", n>>8&255, n&255)
	}
	const workers, step = 8, 6 * time.Minute
	var (
		mu                                   sync.Mutex
		successes, letThrough, dead, refused int
		starts, startsRefused                int
	)
	begin := e.Clock.Now()
	for e.Clock.Now().Before(begin.Add(protection.AccountWindow)) {
		r := e.startAs(nativeClientID, "", "email", victim, xff(nextIP()))
		switch r.Status {
		case http.StatusOK:
			starts++
		case http.StatusTooManyRequests:
			startsRefused++
		default:
			t.Fatalf("start: %d %s", r.Status, r.Body)
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				guess := fmt.Sprintf("%0*d", length, rand.IntN(int(math.Pow10(length))))
				status, code, desc, err := e.attackGuess(w%2 == 1, victim, guess, nextIP())
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("guess: %v", err)
				case status == http.StatusOK:
					successes++
				case status == http.StatusTooManyRequests && code == "too_many_attempts":
					refused++
				case desc == descWrongEmail:
					letThrough++ // checked against the live code, and wrong
				case desc == passwordless.DescMaxAttempts || desc == passwordless.DescCodeExpired:
					dead++ // the code had no tries left: the guess was worth nothing
				default:
					t.Errorf("guess answered %d %s %q", status, code, desc)
				}
			}()
		}
		wg.Wait()
		e.Clock.Advance(step)
	}
	t.Logf("a simulated day: %d codes sent (%d starts refused), %d guesses let through, %d at dead codes, %d refused, %d right",
		starts, startsRefused, letThrough, dead, refused, successes)
	if successes != 0 {
		t.Fatalf("the attacker got in (%d successes); the bound says that happens %g of the time", successes, bound)
	}
	if letThrough > maxGuesses {
		t.Errorf("%d guesses were let through in one window, the bound allows %d", letThrough, maxGuesses)
	}
	// The attacker never stopped, so it used up everything the bound allows.
	if letThrough != maxGuesses {
		t.Errorf("%d guesses let through, want exactly the %d the docs state", letThrough, maxGuesses)
	}
	if refused == 0 || starts == 0 {
		t.Errorf("the simulation did not reach the lockout: %d refused, %d codes sent", refused, starts)
	}
	if ev := e.events("limit_wc"); len(ev) != 1 || ev[0].Identifier != victim {
		t.Errorf("limit_wc events = %+v, want one account lockout", ev)
	}

	// The lockout ends with the window: the victim logs in again.
	e.Clock.Advance(protection.AccountWindow)
	// Let the mail of the last simulated start land (or expire) first, so
	// that the next mail is the victim's new code.
	for n := -1; n != len(e.SMTP.Messages()); {
		n = len(e.SMTP.Messages())
		time.Sleep(300 * time.Millisecond)
	}
	if r := e.guess("email", victim, e.startCode(nativeClientID, victim)); r.Status != 200 {
		t.Fatalf("the victim after the window: %d %s", r.Status, r.Body)
	}
}

// thousands writes n with commas: 33,334.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
