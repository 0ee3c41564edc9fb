package e2e

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/store"
)

// series is one scrape of /metrics: the value of every sample, by its name
// and labels as exposed (`name{a="x",b="y"}`).
type series map[string]float64

// scrape reads /metrics of the main listener.
func (e *env) scrape(t *testing.T) (series, string) {
	t.Helper()
	res := e.get("/metrics")
	if res.Status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", res.Status, res.Body)
	}
	return parseExposition(t, string(res.Body)), string(res.Body)
}

// parseExposition reads Prometheus's text format (what promhttp answers
// a client that asks for nothing else).
func parseExposition(t *testing.T, text string) series {
	t.Helper()
	s := series{}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("exposition line without a value: %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("exposition line %q: %v", line, err)
		}
		s[line[:i]] = v
	}
	return s
}

// labelValues are the values of every label in an exposition.
func labelValues(text string) []string {
	var out []string
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		open, end := strings.IndexByte(line, '{'), strings.LastIndexByte(line, '}')
		if open < 0 || end < open {
			continue
		}
		for _, pair := range strings.Split(line[open+1:end], ",") {
			if _, v, ok := strings.Cut(pair, "="); ok {
				out = append(out, strings.Trim(v, `"`))
			}
		}
	}
	return out
}

// counterDeltas are the sesame_*_total series that changed from before to
// after (the connection pool's wait counters left out: they move with the
// background work), with how much.
func counterDeltas(before, after series) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		name, _, _ := strings.Cut(k, "{")
		if !strings.HasPrefix(name, "sesame_") || !strings.HasSuffix(name, "_total") || strings.HasPrefix(name, "sesame_db_pool_") {
			continue
		}
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func TestMetrics_LoginMovesExactlyTheExpectedCounters(t *testing.T) {
	e := newEnv(t, envOptions{})
	const email = "metrics.user@example.com"
	before, _ := e.scrape(t)

	res := e.postJSON("/passwordless/start", map[string]any{
		"client_id": webClientID, "client_secret": webSecret,
		"connection": "email", "email": email, "send": "code",
	})
	if res.Status != http.StatusOK {
		t.Fatalf("start: %d %s", res.Status, res.Body)
	}
	code := codeFrom(t, e.SMTP.Wait(t, 1, 10*time.Second)[0])
	wantError(t, e.otp(webClientID, email, wrongCode(code), "openid"), 403, "invalid_grant", descWrong)
	tok := e.otp(webClientID, email, code, "openid offline_access")
	if tok.Status != http.StatusOK {
		t.Fatalf("token: %d %s", tok.Status, tok.Body)
	}

	want := map[string]float64{
		`sesame_http_requests_total{code="200",route="GET /metrics"}`:               1, // the first scrape
		`sesame_http_requests_total{code="200",route="POST /passwordless/start"}`:   1,
		`sesame_http_requests_total{code="403",route="POST /oauth/token"}`:          1,
		`sesame_http_requests_total{code="200",route="POST /oauth/token"}`:          1,
		`sesame_codes_issued_total{channel="email",connection="email",send="code"}`: 1,
		`sesame_code_checks_total{connection="email",outcome="wrong"}`:              1,
		`sesame_code_checks_total{connection="email",outcome="ok"}`:                 1,
		`sesame_messages_queued_total{provider="smtp"}`:                             1,
		`sesame_messages_sent_total{provider="smtp"}`:                               1,
		// The ID token and the access token.
		`sesame_signatures_total{alg="RS256"}`: 2,
	}
	// The mail reaches the sink a moment before the worker counts it as
	// sent: scrape until it is counted (or the comparison fails on it).
	var (
		after map[string]float64
		text  string
	)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var s series
		s, text = e.scrape(t)
		after = counterDeltas(before, s)
		if after[`sesame_messages_sent_total{provider="smtp"}`] >= 1 || time.Now().After(deadline) {
			// Every scrape but the last one counts as a request too.
			break
		}
		before[`sesame_http_requests_total{code="200",route="GET /metrics"}`]++
	}
	if !maps.Equal(after, want) {
		keys := maps.Clone(after)
		maps.Copy(keys, want)
		var lines []string
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			lines = append(lines, k+": got "+strconv.FormatFloat(after[k], 'g', -1, 64)+", want "+strconv.FormatFloat(want[k], 'g', -1, 64))
		}
		t.Errorf("counters that moved differ from the expected ones:\n%s", strings.Join(lines, "\n"))
	}

	// The gauges and histograms are there too.
	for _, name := range []string{"sesame_outbox_pending_messages", "sesame_outbox_oldest_pending_age_seconds",
		`sesame_http_request_duration_seconds_count{route="POST /oauth/token"}`,
		`sesame_store_call_duration_seconds_count{method="GuessCode"}`, "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(text, "\n"+name+" ") {
			t.Errorf("the scrape has no %s", name)
		}
	}
	// SQLite's writer and readers, or PostgreSQL's one pool.
	if !strings.Contains(text, "\nsesame_db_pool_max_connections{pool=") {
		t.Errorf("the scrape has no connection pool")
	}

	// No label carries the address, the code, the client's secret or a
	// token.
	secrets := []string{email, "metrics.user", code, webSecret, webClientID, tok.str("access_token"), tok.str("id_token"), tok.str("refresh_token")}
	for _, v := range labelValues(text) {
		for _, s := range secrets {
			if s != "" && strings.Contains(v, s) {
				t.Errorf("a label value %q holds %q", v, s)
			}
		}
	}
}

func TestMetrics_RateLimitsAndBlocksAreCountedByRule(t *testing.T) {
	limits := generousLimits()
	limits.PerRecipient = store.Limit{Burst: 1, Per: time.Hour}
	protection := passwordless.DefaultProtection()
	protection.PairThreshold = 2
	e := newEnv(t, envOptions{limits: &limits, protection: &protection})
	const user = "metrics.limited@example.com"
	before, _ := e.scrape(t)

	code := e.startCode(webClientID, user)
	// A second message to the same address within the hour: refused.
	res := e.postJSON("/passwordless/start", map[string]any{"client_id": webClientID, "client_secret": webSecret,
		"connection": "email", "email": user, "send": "code"})
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("second start: %d %s", res.Status, res.Body)
	}
	// Two wrong guesses from one address block the pair; the third guess
	// (the right code) is refused by the block.
	for range 2 {
		wantError(t, e.otp(webClientID, user, wrongCode(code), "openid"), http.StatusForbidden, "invalid_grant", descWrong)
	}
	if r := e.otp(webClientID, user, code, "openid"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("guess while blocked: %d %s", r.Status, r.Body)
	}

	after, _ := e.scrape(t)
	d := counterDeltas(before, after)
	for k, want := range map[string]float64{
		`sesame_rate_limit_rejections_total{rule="start:rcpt"}`:                   1,
		`sesame_blocks_total{rule="pair"}`:                                        1,
		`sesame_code_checks_total{connection="email",outcome="wrong"}`:            2,
		`sesame_code_checks_total{connection="email",outcome="blocked"}`:          1,
		`sesame_http_requests_total{code="429",route="POST /passwordless/start"}`: 1,
		`sesame_http_requests_total{code="429",route="POST /oauth/token"}`:        1,
	} {
		if d[k] != want {
			t.Errorf("%s moved by %v, want %v", k, d[k], want)
		}
	}
}
