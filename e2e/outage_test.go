package e2e

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHealth_AliveAndReady: /healthz answers while the process runs,
// /readyz while the database answers and is migrated.
func TestHealth_AliveAndReady(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, path := range []string{"healthz", "health", "readyz"} {
		r := e.get(path)
		if r.Status != 200 || r.str("status") != "ok" {
			t.Errorf("GET /%s: %d %s", path, r.Status, r.Body)
		}
	}
}

// TestOutage_LockedSQLiteAnswers503ThenRecovers holds SQLite's write lock
// from another connection, as a stuck process or a backup would, for longer
// than the busy timeout: requests that need to write get a 503 in Auth0's
// shape with Retry-After (never a hang, never a 500), /readyz still answers
// (reads go on), and once the lock is gone the same request succeeds and
// its code arrives: nothing was half done.
func TestOutage_LockedSQLiteAnswers503ThenRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out SQLite's 10 s busy timeout")
	}
	e := newEnv(t, envOptions{})
	if e.DB == "" {
		t.Skip("SQLite's write lock: on PostgreSQL, TestOutage_PostgresAwayTenSecondsUnderLoad")
	}
	db, err := sql.Open("sqlite", e.DB+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"client_id": webClientID, "client_secret": webSecret, "connection": "email", "email": "outage@example.com", "send": "code"}
	// A code check at the token endpoint, at the same time.
	tokenDone := make(chan response, 1)
	go func() { tokenDone <- e.otp(webClientID, "outage@example.com", "123456", "openid") }()
	began := time.Now()
	r := e.postJSON("/passwordless/start", body)
	took := time.Since(began)
	wantError(t, <-tokenDone, http.StatusServiceUnavailable, "temporarily_unavailable", "The service is temporarily unavailable. Please try again in a few seconds.")
	wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable", "The service is temporarily unavailable. Please try again in a few seconds.")
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	if took > 20*time.Second {
		t.Errorf("the 503 took %v", took)
	}
	if strings.Contains(e.logs.String(), "level=ERROR") {
		t.Errorf("a locked database was logged as an error, not as unavailable:\n%s", e.logs.String())
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if r := e.get("readyz"); r.Status != 200 {
		t.Errorf("readyz after the lock: %d %s", r.Status, r.Body)
	}
	if r := e.postJSON("/passwordless/start", body); r.Status != 200 {
		t.Fatalf("start after the lock: %d %s", r.Status, r.Body)
	}
	msgs := e.SMTP.Wait(t, 1, 10*time.Second)
	if len(msgs) != 1 {
		t.Errorf("%d messages, want exactly the one of the start that went through", len(msgs))
	}
	if r := e.otp(webClientID, "outage@example.com", codeFrom(t, msgs[0]), "openid"); r.Status != 200 {
		t.Errorf("token: %d %s", r.Status, r.Body)
	}
}
