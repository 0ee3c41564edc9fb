// Package sqlite is the embedded SQLite backend of the store, built on the
// pure-Go driver modernc.org/sqlite.
//
// A Store keeps two connection pools on one database file: a single writer
// connection whose transactions start with BEGIN IMMEDIATE, so that a write
// transaction holds the database's write lock from its first statement and
// never fails to upgrade a read lock, and a pool of query-only readers. Several
// Stores (several processes) may share one file: they queue on SQLite's lock,
// waiting up to the busy timeout.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sesame-id/sesame/internal/store"
)

// busyTimeout is how long a statement waits for another connection (or
// process) to release the write lock before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// readers is the size of the read pool.
const readers = 4

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on one SQLite database file.
type Store struct {
	w *sql.DB // one connection, BEGIN IMMEDIATE
	r *sql.DB // query-only readers
	// ws and rs keep the statements prepared on w and r.
	ws, rs *stmtCache
	// gc queues the writes for group commit (commit.go).
	gc groupCommit
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it if needed) the SQLite database at path. Call
// Migrate before using the Store. path must name a file: an in-memory
// database would not be shared between the writer and the readers.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: open %q: need a plain file path", path)
	}
	params := url.Values{}
	params.Add("_pragma", "busy_timeout("+strconv.FormatInt(busyTimeout.Milliseconds(), 10)+")")
	params.Add("_pragma", "synchronous(NORMAL)")
	params.Add("_pragma", "foreign_keys(1)")

	// WAL is a property of the file: the writer sets it, the readers find
	// it. (Asking for it on every reader connection can fail with
	// SQLITE_BUSY, without waiting, while another process changes the
	// schema.)
	wparams := cloneValues(params)
	wparams.Add("_pragma", "journal_mode(WAL)")
	// The writer walks the hot tables (codes, outbox, buckets) on every
	// request: SQLite's default page cache (2 MB) let them fall out and
	// read them back from the file, a fifth of the server's CPU under
	// load (docs/BENCHMARKS.md). 16 MB, taken only as pages are touched.
	wparams.Add("_pragma", "cache_size(-16384)")
	wparams.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", path+"?"+wparams.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// Connect the writer first: it is the connection that switches a new
	// file to WAL, which the readers (query-only) cannot do. Switching
	// does not wait for a busy database, so several processes opening a
	// new file at once retry for as long as a write would wait.
	if err := pingRetryingBusy(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	rparams := cloneValues(params)
	rparams.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", path+"?"+rparams.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &Store{w: w, r: r, ws: newStmtCache(w), rs: newStmtCache(r)}, nil
}

// pingRetryingBusy connects db, retrying for up to busyTimeout while the
// database is locked (SQLITE_BUSY).
func pingRetryingBusy(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := db.PingContext(ctx)
		var se interface{ Code() int }
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != 5 || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func cloneValues(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// Close closes both pools.
func (s *Store) Close() error {
	s.rs.close()
	s.ws.close()
	return errors.Join(s.r.Close(), s.w.Close())
}

// Migrate applies every embedded migration not yet recorded in
// schema_migrations, each in its own immediate transaction, so that
// concurrent starters apply each migration exactly once.
func (s *Store) Migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	type migration struct {
		version int
		name    string
	}
	var ms []migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("sqlite: migrate: bad migration name %q", base)
		}
		ms = append(ms, migration{v, name})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })

	for _, m := range ms {
		body, err := migrations.ReadFile(m.name)
		if err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		err = s.write(ctx, func(tx *stmtTx) error {
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version    INTEGER PRIMARY KEY,
				applied_at INTEGER NOT NULL
			) STRICT`); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				m.version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: migrate %s: %w", m.name, err)
		}
	}
	return nil
}

// latestMigration is the highest version among the embedded migrations.
func latestMigration() (int, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return 0, err
	}
	latest := 0
	for _, name := range names {
		num, _, _ := strings.Cut(strings.TrimPrefix(name, "migrations/"), "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return 0, fmt.Errorf("bad migration name %q", name)
		}
		latest = max(latest, v)
	}
	return latest, nil
}

// Ready reports whether the database answers and is migrated to the latest
// version this build knows; see store.Store.
func (s *Store) Ready(ctx context.Context) error {
	latest, err := latestMigration()
	if err != nil {
		return fmt.Errorf("sqlite: ready: %w", err)
	}
	var (
		migrated bool
		applied  sql.NullInt64
	)
	err = s.read(ctx, func(tx *stmtTx) error {
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations')`).Scan(&migrated); err != nil || !migrated {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&applied)
	})
	if err != nil {
		return fmt.Errorf("sqlite: ready: %w", err)
	}
	if int(applied.Int64) < latest {
		return fmt.Errorf("sqlite: ready: the database is at migration %d, this build needs %d (run sesame migrate)", applied.Int64, latest)
	}
	return nil
}

// unavailable wraps SQLite's "database is locked" (SQLITE_BUSY, once the
// busy timeout ran out) and "table is locked" in store.ErrUnavailable: the
// same call may go through later.
func unavailable(err error) error {
	var se interface{ Code() int }
	if err != nil && errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
	}
	return err
}

// read runs fn in one read transaction, so that several queries see one
// snapshot of the database.
func (s *Store) read(ctx context.Context, fn func(tx *stmtTx) error) (err error) {
	ctx, end := startSpan(ctx, "sqlite.read")
	defer func() { end(err) }()
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return unavailable(err)
	}
	err = func() error {
		defer tx.Rollback()
		return fn(&stmtTx{Tx: tx, cache: s.rs})
	}()
	s.rs.prepare(ctx)
	return unavailable(err)
}

// PurgeExpired deletes what is past any use at now:
//   - codes 24 hours after they expired (until then a used or replaced code
//     still answers ErrCodeStale and an expired one ErrCodeExpired);
//   - outbox rows that are sent, expired or failed, 24 hours after they were
//     created or sent, whichever is later, and pending rows 24 hours after
//     their NotAfter (no worker claimed them in time);
//   - refresh tokens past their ExpiresAt, and revoked ones 24 hours after
//     they were revoked;
//   - authorization codes an hour after they expired, used or not (until
//     then a second redemption of a used code still answers ErrCodeStale,
//     so that the caller can revoke what the first one issued);
//   - login tickets and sessions at their ExpiresAt;
//   - rate-limit buckets once they are full again (full_at <= now): a full
//     bucket and a missing one behave the same;
//   - failure rows 30 days after the failure, whatever the account window
//     (24 hours by default, configurable, so the store cannot know it), and
//     pair counters 30 days after their last failure (an attacker's ips would
//     otherwise leave rows forever);
//   - blocks at their ExpiresAt;
//   - events eventRetention after they were created (30 days by default);
//   - rotated signing keys at their PublishedUntil (every token they signed
//     has expired, so their private keys have no use left).
//
// It deletes in batches of purgeBatch rows, each batch its own short write
// transaction, so that a table holding millions of dead rows never keeps the
// write lock from a request for long.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time, eventRetention time.Duration) error {
	n := ms(now)
	grace := purgeGrace.Milliseconds()
	keep := retention.Milliseconds()
	if eventRetention <= 0 {
		eventRetention = store.DefaultEventRetention
	}
	for _, q := range []struct {
		table, where string
		args         []any
	}{
		{"codes", `expires_at <= ?`, []any{n - grace}},
		{"outbox", `(status <> 'pending' AND max(created_at, sent_at) <= ?)
			OR (status = 'pending' AND not_after <> 0 AND not_after <= ?)`, []any{n - grace, n - grace}},
		{"refresh_tokens", `(expires_at <> 0 AND expires_at <= ?) OR (revoked_at <> 0 AND revoked_at <= ?)`, []any{n, n - grace}},
		{"auth_codes", `expires_at <= ?`, []any{n - authCodeGrace.Milliseconds()}},
		{"login_tickets", `expires_at <= ?`, []any{n}},
		{"sessions", `expires_at <= ?`, []any{n}},
		{"buckets", `full_at <= ?`, []any{n}},
		{"failures", `at <= ?`, []any{n - keep}},
		{"pair_failures", `last_at <= ?`, []any{n - keep}},
		{"blocks", `expires_at <= ?`, []any{n}},
		{"events", `created_at <= ?`, []any{n - eventRetention.Milliseconds()}},
		{"signing_keys", `rotated_at <> 0 AND published_until <= ?`, []any{n}},
	} {
		for {
			var deleted int64
			err := s.write(ctx, func(tx *stmtTx) error {
				res, err := tx.ExecContext(ctx, `DELETE FROM `+q.table+` WHERE rowid IN
					(SELECT rowid FROM `+q.table+` WHERE `+q.where+` LIMIT `+strconv.Itoa(purgeBatch)+`)`, q.args...)
				if err != nil {
					return err
				}
				deleted, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return fmt.Errorf("sqlite: purge %s: %w", q.table, err)
			}
			if deleted < purgeBatch {
				break
			}
		}
	}
	return nil
}

// purgeBatch is how many rows one purge transaction deletes at most.
const purgeBatch = 500

// purgeGrace is how long dead codes, finished outbox rows and revoked refresh
// tokens are kept before PurgeExpired deletes them.
const purgeGrace = 24 * time.Hour

// retention is how long failure rows and idle pair counters are kept. It
// must outlast any account window an operator configures.
const retention = 30 * 24 * time.Hour

// authCodeGrace is how long an authorization code is kept after it expired.
// Codes live about a minute; an hour is ample for a replayed code to be
// recognised as reuse, and keeps the table small.
const authCodeGrace = time.Hour

// ms converts a time to the stored form: unix milliseconds, 0 for the zero
// time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts a stored time back; 0 is the zero time.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// isConstraint reports whether err is a UNIQUE or PRIMARY KEY violation.
func isConstraint(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}

// nullBytes keeps a nil slice NULL and an empty one an empty BLOB.
func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// PoolStats reports the writer's connection and the readers' pool.
func (s *Store) PoolStats() []store.PoolStats {
	stat := func(name string, db *sql.DB) store.PoolStats {
		st := db.Stats()
		return store.PoolStats{Pool: name, Max: st.MaxOpenConnections, Open: st.OpenConnections, InUse: st.InUse,
			Idle: st.Idle, WaitCount: st.WaitCount, WaitDuration: st.WaitDuration}
	}
	return []store.PoolStats{stat("writer", s.w), stat("reader", s.r)}
}
