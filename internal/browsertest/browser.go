// Package browsertest runs tests in a real headless Chromium, driven by
// chromedp, against pages that load the unmodified Auth0 SDKs from
// node_modules (see package.json here).
//
// Where no Chromium or no node_modules is found, a test is skipped with a
// message that says what is missing and how to get it; with
// SESAME_REQUIRE_BROWSER=1 (set by .ci/run) it fails instead, so that CI
// never skips a browser test.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// RequireEnv names the variable that turns a missing browser or missing
// node_modules from a skip into a failure.
const RequireEnv = "SESAME_REQUIRE_BROWSER"

// ChromiumEnv names the variable that chooses the browser binary.
const ChromiumEnv = "SESAME_CHROMIUM"

// Timeout bounds one test's use of the browser, start-up included (a few
// seconds on a busy two-core machine).
const Timeout = 60 * time.Second

// unavailable skips the test, or fails it when RequireEnv is set.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1: browser tests must run here)", msg, RequireEnv)
	}
	t.Skipf("browser test skipped: %s (set %s=1 to make this a failure)", msg, RequireEnv)
}

// Chromium is the browser binary: $SESAME_CHROMIUM, else the first of
// chromium, chromium-browser, google-chrome and google-chrome-stable on the
// PATH. It skips or fails the test (see RequireEnv) when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(ChromiumEnv); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s=%s: %v", ChromiumEnv, p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	unavailable(t, "no Chromium found (looked for $%s, chromium, chromium-browser, google-chrome on the PATH); install it with `apt-get install chromium`", ChromiumEnv)
	return ""
}

// New starts a headless Chromium with a fresh profile for the test and
// returns the chromedp context of its first tab, which ends after Timeout
// or with the test. What the pages write to the console, their uncaught
// exceptions and the browser's own log entries (CORS refusals among them)
// go to the test log.
//
// The browser runs without its sandbox when the test runs as root, as
// Chromium refuses to start as root otherwise; chromedp adds the flag.
func New(t testing.TB) context.Context {
	t.Helper()
	path := Chromium(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.DisableGPU,
		chromedp.WindowSize(800, 600),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)

	// The browser may log from its own goroutines until it is gone, and a
	// test must not log after it has ended: logging stops at cleanup.
	var mu sync.Mutex
	ended := false
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			t.Logf(format, args...)
		}
	}
	chromedpf := func(format string, args ...any) { logf("chromedp: "+format, args...) }
	ctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(chromedpf), chromedp.WithLogf(chromedpf))

	// The first Run starts the browser; its context must outlive every
	// later action, so the timeout goes on a child context.
	started := time.Now()
	if err := chromedp.Do(ctx); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("starting %s: %v", path, err)
	}
	t.Logf("browser: %s started in %v", path, time.Since(started).Round(time.Millisecond))

	console := chromedp.Console(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for m, err := range console {
			if err != nil {
				return
			}
			where := ""
			if m.URL != "" {
				where = fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
			}
			logf("browser console %s%s", m, where)
		}
	})

	tctx, cancelTimeout := context.WithTimeout(ctx, Timeout)
	t.Cleanup(func() {
		cancelTimeout()
		if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
			logf("closing the browser: %v", err)
		}
		cancelBrowser()
		cancelAlloc()
		wg.Wait()
		mu.Lock()
		ended = true
		mu.Unlock()
	})
	return tctx
}

// Screenshot writes a PNG of the whole page of the context's tab to path,
// creating its directory.
func Screenshot(ctx context.Context, path string) error {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return nil
}
