package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/secrets"
	"github.com/sesame-id/sesame/internal/store/postgres/pgtest"
)

// TestNew_ReplicasStartingTogetherOnPostgreSQL: three replicas start at the
// same moment on an empty PostgreSQL schema; each migrates, and exactly one
// creates the development tenant; all come up ready and sign with the same
// key.
func TestNew_ReplicasStartingTogetherOnPostgreSQL(t *testing.T) {
	u := pgtest.URL(t)
	set, err := secrets.Generate(time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SESAME_SECRETS": string(set.Marshal())}
	cfg, err := ParseConfig("serve", []string{"--database", u, "--database-pool-size", "3"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	const n = 3
	apps := make([]*App, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			apps[i], errs[i] = New(context.Background(), cfg, logger)
		})
	}
	close(start)
	wg.Wait()
	created, kids := 0, map[string]bool{}
	for i, a := range apps {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		defer a.Close()
		if len(a.Credentials) > 0 {
			created++
		}
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("replica %d: GET /readyz = %d %s", i, rec.Code, rec.Body)
		}
		keys, err := a.Store.SigningKeys(t.Context(), time.Now())
		if err != nil || len(keys) != 1 {
			t.Fatalf("replica %d: SigningKeys = %d keys, %v", i, len(keys), err)
		}
		kids[keys[0].KID] = true
	}
	if created != 1 {
		t.Errorf("%d replicas created the development tenant, want exactly 1", created)
	}
	if len(kids) != 1 {
		t.Errorf("the replicas use %d signing keys, want 1", len(kids))
	}
}

// TestMigrate_PostgreSQL is sesame migrate on PostgreSQL: it brings an empty
// schema up to date, and again is harmless.
func TestMigrate_PostgreSQL(t *testing.T) {
	cfg := Config{Database: pgtest.URL(t), DatabasePoolSize: 2}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for range 2 {
		if err := Migrate(t.Context(), cfg, logger); err != nil {
			t.Fatal(err)
		}
	}
	st, err := OpenStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ready(t.Context()); err != nil {
		t.Errorf("Ready after sesame migrate: %v", err)
	}
}
