package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestApp is an App on a new SQLite file with the development tenant.
func newTestApp(t *testing.T, cfg Config) *App {
	t.Helper()
	cfg.Database = "sqlite:" + filepath.Join(t.TempDir(), "sesame.db")
	cfg.Issuer = "http://127.0.0.1:8080/"
	a, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestMetrics_ServedOnTheMainListenerByDefault(t *testing.T) {
	a := newTestApp(t, Config{})
	main := httptest.NewServer(a.Handler())
	defer main.Close()
	status, body := get(t, main.URL+"/metrics")
	if status != http.StatusOK || !strings.Contains(body, "sesame_outbox_pending_messages 0") || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("GET /metrics: %d\n%s", status, body)
	}
}

func TestMetrics_MetricsListenServesThemThereAndNotOnTheMainListener(t *testing.T) {
	a := newTestApp(t, Config{MetricsListen: "127.0.0.1:0"})
	addr, err := a.ListenMetrics(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	main := httptest.NewServer(a.Handler())
	defer main.Close()

	// A request on the main listener is counted, and shows on the
	// metrics listener.
	if status, body := get(t, main.URL+"/metrics"); status != http.StatusNotFound || !strings.Contains(body, `"not_found"`) {
		t.Errorf("GET /metrics on the main listener: %d %s, want Auth0's 404", status, body)
	}
	status, body := get(t, "http://"+addr.String()+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics on --metrics-listen: %d\n%s", status, body)
	}
	if !strings.Contains(body, `sesame_http_requests_total{code="404",route="unmatched"} 1`) {
		t.Errorf("the main listener's 404 is not counted as route=unmatched:\n%s", body)
	}
	if status, _ := get(t, "http://"+addr.String()+"/healthz"); status != http.StatusNotFound {
		t.Errorf("GET /healthz on --metrics-listen: %d, want 404 (only /metrics is served there)", status)
	}
}

func TestMetrics_OffServesNothing(t *testing.T) {
	a := newTestApp(t, Config{MetricsOff: true})
	if a.Metrics != nil {
		t.Fatal("--metrics=false made a registry")
	}
	main := httptest.NewServer(a.Handler())
	defer main.Close()
	if status, _ := get(t, main.URL+"/metrics"); status != http.StatusNotFound {
		t.Errorf("GET /metrics with --metrics=false: %d, want 404", status)
	}
}

func TestParseConfig_MetricsFlags(t *testing.T) {
	env := map[string]string{"SESAME_METRICS_LISTEN": "127.0.0.1:9090"}
	cfg, err := ParseConfig("serve", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsOff || cfg.MetricsListen != "127.0.0.1:9090" {
		t.Errorf("SESAME_METRICS_LISTEN: off %v, listen %q", cfg.MetricsOff, cfg.MetricsListen)
	}
	cfg, err = ParseConfig("serve", []string{"--metrics=false"}, func(string) string { return "" }, io.Discard)
	if err != nil || !cfg.MetricsOff {
		t.Errorf("--metrics=false: off %v, err %v", cfg.MetricsOff, err)
	}
	cfg, err = ParseConfig("serve", nil, func(k string) string { return map[string]string{"SESAME_METRICS": "false"}[k] }, io.Discard)
	if err != nil || !cfg.MetricsOff {
		t.Errorf("SESAME_METRICS=false: off %v, err %v", cfg.MetricsOff, err)
	}
	if _, err := ParseConfig("serve", []string{"--metrics=false", "--metrics-listen", "127.0.0.1:9090"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Error("--metrics=false with --metrics-listen was accepted")
	}
}

// syncLog is a log buffer that Serve writes to while the test reads it.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// addr waits for the log line msg and returns its attribute key.
func (l *syncLog) addr(t *testing.T, msg, key string) string {
	t.Helper()
	re := regexp.MustCompile(`msg="` + regexp.QuoteMeta(msg) + `".* ` + key + `=(\S+)`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		l.mu.Lock()
		m := re.FindStringSubmatch(l.b.String())
		l.mu.Unlock()
		if m != nil {
			return m[1]
		}
	}
	t.Fatalf("no log line %q with %s", msg, key)
	return ""
}

func TestServe_MetricsListenFlagMovesMetricsOffTheMainListener(t *testing.T) {
	cfg, err := ParseConfig("serve", []string{"--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
		"--database", "sqlite:" + filepath.Join(t.TempDir(), "sesame.db")}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncLog{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), io.Discard, "test") }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	metricsAddr := logs.addr(t, "metrics are served on their own listener", "metrics")
	mainAddr := logs.addr(t, "sesame is listening", "listen")

	if status, _ := get(t, "http://"+mainAddr+"/metrics"); status != http.StatusNotFound {
		t.Errorf("GET /metrics on the main listener: %d, want 404", status)
	}
	if status, body := get(t, "http://"+metricsAddr+"/metrics"); status != http.StatusOK || !strings.Contains(body, "sesame_outbox_pending_messages") {
		t.Errorf("GET /metrics on --metrics-listen: %d\n%s", status, body)
	}
}
