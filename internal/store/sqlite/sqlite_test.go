package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/sqlite"
	"github.com/sesame-id/sesame/internal/store/storetest"
)

func openFile(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openFile(t, filepath.Join(t.TempDir(), "sesame.db"))
	})
}

// TestReplicas opens several Stores on one file, as several processes would.
func TestReplicas(t *testing.T) {
	storetest.RunReplicas(t, func(t *testing.T, n int) []store.Store {
		path := filepath.Join(t.TempDir(), "sesame.db")
		sts := make([]store.Store, n)
		for i := range sts {
			sts[i] = openFile(t, path)
		}
		return sts
	})
}

func TestOpen_RefusesInMemoryAndURIs(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db?mode=memory", "x.db?_pragma=foo"} {
		if st, err := sqlite.Open(t.Context(), path); err == nil {
			st.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

func TestOpen_ReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureSecret(t.Context(), "hmac", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openFile(t, path)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := st.EnsureSecret(t.Context(), "hmac", []byte("new"))
	if err != nil || string(got) != "kept" {
		t.Errorf("after reopening, EnsureSecret = %q, %v; want %q", got, err, "kept")
	}
}

// TestOpen_ConcurrentStartersOnFreshFile is several processes starting at
// once on a database that does not exist yet.
func TestOpen_ConcurrentStartersOnFreshFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	const n = 8
	errs := make([]error, n)
	sts := make([]*sqlite.Store, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st, err := sqlite.Open(t.Context(), path)
			if err != nil {
				errs[i] = err
				return
			}
			sts[i] = st
			errs[i] = st.Migrate(t.Context())
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("starter %d: %v", i, errs[i])
		}
		if sts[i] != nil {
			sts[i].Close()
		}
	}
}

// TestMigrate_KeyRotationKeepsTheActiveKey upgrades a database written
// before key rotation (migration 0004, one active key): the active key stays
// the current one, a retired key is gone, and a key that was neither stays
// published as a rotated key.
func TestMigrate_KeyRotationKeepsTheActiveKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	old, err := filepath.Glob("migrations/000[1-4]_*.sql")
	if err != nil || len(old) != 4 {
		t.Fatalf("migrations 0001-0004: %v %v", old, err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for i, name := range old {
		body, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, 0)`, i+1); err != nil {
			t.Fatal(err)
		}
	}
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, row := range []struct {
		kid             string
		active, retired int64
	}{
		{"active", 1, 0},
		{"retired", 0, created.Add(time.Hour).UnixMilli()},
		{"published", 0, 0},
	} {
		if _, err := db.Exec(`INSERT INTO signing_keys (kid, algorithm, private_pem, created_at, active, retired_at) VALUES (?, 'RS256', ?, ?, ?, ?)`,
			row.kid, []byte("pem of "+row.kid), created.UnixMilli(), row.active, row.retired); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	st := openFile(t, path)
	before := time.Now().Truncate(time.Second)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	keys, err := st.SigningKeys(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	byKID := map[string]store.SigningKey{}
	for _, k := range keys {
		byKID[k.KID] = k
	}
	if len(keys) != 2 {
		t.Fatalf("after the migration SigningKeys = %v, want the active and the published key", keys)
	}
	if k := byKID["active"]; !k.RotatedAt.IsZero() || !k.PublishedUntil.IsZero() || string(k.PrivatePEM) != "pem of active" || !k.CreatedAt.Equal(created) {
		t.Errorf("the active key became %+v, want it current and unchanged", k)
	}
	k := byKID["published"]
	if k.RotatedAt.Before(before) || k.PublishedUntil.Sub(k.RotatedAt) != 30*24*time.Hour {
		t.Errorf("the published key became %+v, want it rotated now and published for 30 days", k)
	}
	// One current key per algorithm still holds.
	next := store.SigningKey{KID: "next", Algorithm: "RS256", PrivatePEM: []byte("pem"), CreatedAt: time.Now()}
	if got, err := st.EnsureSigningKey(t.Context(), next); err != nil || got.KID != "active" {
		t.Errorf("EnsureSigningKey after the migration = %s, %v; want the active key", got.KID, err)
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "sesame.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		if err := st.Migrate(b.Context()); err != nil {
			b.Fatal(err)
		}
		return st
	})
}

// The statements a store runs are prepared once and kept: the second time
// a statement runs, it runs prepared; a multi-statement script never is.
func TestStatementsArePreparedOnceAndKept(t *testing.T) {
	st := openFile(t, filepath.Join(t.TempDir(), "sesame.db"))
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := sqlite.PreparedStatements(st)
	for range 3 {
		if _, err := st.EnsureSecret(t.Context(), "x", []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	after := sqlite.PreparedStatements(st)
	if after <= before {
		t.Fatalf("prepared statements: %d before, %d after three writes", before, after)
	}
	for range 3 {
		if _, err := st.EnsureSecret(t.Context(), "x", []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if again := sqlite.PreparedStatements(st); again != after {
		t.Errorf("running the same statements again prepared more: %d, then %d", after, again)
	}
}

// The writer keeps the hot tables in a 16 MB page cache, not SQLite's 2 MB.
func TestWriterPageCache(t *testing.T) {
	st := openFile(t, filepath.Join(t.TempDir(), "sesame.db"))
	if n, err := sqlite.WriterCacheSize(st); err != nil || n != -16384 {
		t.Errorf("writer cache_size = %d, %v; want -16384 (16 MB)", n, err)
	}
}

// TestOutboxClaimPlans checks that the outbox claim reads only what it
// returns: the due messages through outbox_due in order (no temporary B-tree
// to sort the whole backlog), the expired ones through outbox_not_after.
func TestOutboxClaimPlans(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	if err := openFile(t, path).Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	expire, claim := sqlite.OutboxClaimSQL()
	plan := func(q string, args ...any) string {
		rows, err := db.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", q, err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			out = append(out, detail)
		}
		return strings.Join(out, "\n")
	}
	if p := plan(expire, 1); !strings.Contains(p, "INDEX outbox_not_after (") || strings.Contains(p, "SCAN") {
		t.Errorf("expiry plan:\n%s\nwant a search of outbox_not_after", p)
	}
	if p := plan(claim, 2, 1, 16); !strings.Contains(p, "INDEX outbox_due (") || strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "SCAN") {
		t.Errorf("claim plan:\n%s\nwant outbox_due in order, no sort", p)
	}
}
