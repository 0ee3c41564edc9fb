// Package postgres is the PostgreSQL backend of the store, built on pgx
// (github.com/jackc/pgx/v5) and its connection pool.
//
// Several replicas share one database, so what the SQLite backend gets from
// its single writer connection is explicit here. Every write is one READ
// COMMITTED transaction that takes, before it reads anything it decides on,
// the locks that make it atomic across replicas:
//
//   - transaction-scoped advisory locks (pg_advisory_xact_lock) on the keys a
//     decision depends on: a connection and identifier for CreateCode and
//     GuessCode, the caller's ip for a guess that can block it, each token
//     bucket (in key order, so that two takes never deadlock), a refresh
//     token's family, the tenant, an algorithm's signing key, migrations;
//   - row locks (SELECT … FOR UPDATE) where one row is the decision (an
//     authorization code's redemption; DELETE … RETURNING takes it for a
//     login ticket's), and FOR UPDATE SKIP LOCKED where
//     workers share a queue (ClaimOutbox);
//   - INSERT … ON CONFLICT where first-writer-wins is one statement
//     (EnsureSecret, a first login).
//
// Lock classes are always taken in the order buckets, identifier, ip, so
// that no two transactions wait for each other. The keys of advisory locks
// include the schema's name (current_schema()), so stores on different
// schemas of one database never share them.
//
// Reads that span several statements run in one REPEATABLE READ READ ONLY
// transaction, so that they see one snapshot.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-id/sesame/internal/store"
)

// opTimeout bounds one call of the Store (waiting for a pooled connection,
// for locks and for the database together); past it the call fails with
// store.ErrUnavailable, so that requests piling up behind a database that
// does not answer each get their answer in time. It is the SQLite
// backend's busy timeout.
const opTimeout = 10 * time.Second

// DefaultConnectTimeout is how long opening one connection may take when the
// URL has no connect_timeout.
const DefaultConnectTimeout = 10 * time.Second

// healthCheckPeriod is how often the pool checks its idle connections (and
// tops them up to the minimum) when the URL does not say.
const healthCheckPeriod = 30 * time.Second

//go:embed migrations/*.sql
var migrations embed.FS

// Options are the settings that do not come from the database URL.
type Options struct {
	// MaxConns is the size of the connection pool. Zero means the URL's
	// pool_max_conns, or else DefaultMaxConns().
	MaxConns int
}

// DefaultMaxConns is the pool size when neither Options nor the URL give
// one: max(4, 2×GOMAXPROCS). A request holds a connection for one short
// transaction, so a few per core keep the CPUs busy while others wait for
// the network.
func DefaultMaxConns() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// Store is a store.Store on one PostgreSQL database (the first schema of the
// connection's search_path).
type Store struct {
	pool     *pgxpool.Pool
	maxConns int
}

var _ store.Store = (*Store)(nil)

// Open makes a Store for the database at rawURL, a postgres:// or
// postgresql:// URL as libpq reads it (sslmode, sslrootcert, sslcert,
// sslkey, connect_timeout, application_name, search_path and the other
// run-time parameters, and pgxpool's pool_* settings). It does not connect:
// the pool opens its connections when first used and keeps MinConns of them
// (by default 2) open, so a database that is down at Open shows up as
// store.ErrUnavailable from the first call. Call Migrate before using the
// Store.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	if !strings.HasPrefix(rawURL, "postgres://") && !strings.HasPrefix(rawURL, "postgresql://") {
		return nil, errors.New("postgres: the database URL must start with postgres:// or postgresql://")
	}
	// Neither the URL nor url.Parse's error (which quotes it) may reach a
	// log: either may hold the password.
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("postgres: the database URL does not parse (percent-encode reserved characters in the user name and password)")
	}
	q := u.Query()
	cfg, err := pgxpool.ParseConfig(rawURL) // its errors mask the password
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opts.MaxConns < 0 {
		return nil, fmt.Errorf("postgres: pool size %d: want a positive number, or 0 for the default", opts.MaxConns)
	}
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = int32(min(opts.MaxConns, 1<<20))
	case !q.Has("pool_max_conns"):
		cfg.MaxConns = int32(DefaultMaxConns())
	}
	if !q.Has("pool_min_conns") {
		cfg.MinConns = min(2, cfg.MaxConns)
	}
	cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
	if !q.Has("pool_health_check_period") {
		cfg.HealthCheckPeriod = healthCheckPeriod
	}
	if cfg.ConnConfig.ConnectTimeout == 0 && !q.Has("connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "sesame"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &Store{pool: pool, maxConns: int(cfg.MaxConns)}, nil
}

// Close closes the pool, waiting for the connections in use to come back.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// migration is one embedded migration file.
type migration struct {
	version int
	name    string
}

func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		num, _, _ := strings.Cut(strings.TrimPrefix(name, "migrations/"), "_")
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad migration name %q", name)
		}
		ms = append(ms, migration{v, name})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// Migrate applies every embedded migration not yet recorded in
// schema_migrations, each in its own transaction that first takes the
// schema's migration lock (an advisory lock), so that replicas starting
// together on an empty database apply each migration exactly once and all
// come up. A migration and its record commit together or not at all.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	for _, m := range ms {
		body, err := migrations.ReadFile(m.name)
		if err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		// No opTimeout: a migration may rewrite a large table, and a
		// replica waiting for another's migration must wait for it.
		err = s.run(ctx, 0, pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) error {
			if err := lock(ctx, tx, lockName("migrate")); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version    integer     PRIMARY KEY,
				applied_at timestamptz NOT NULL
			)`); err != nil {
				return err
			}
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`,
				m.version).Scan(&done); err != nil || done {
				return err
			}
			// Without arguments pgx sends the file as one simple query,
			// which may hold many statements.
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())`, m.version)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migrate %s: %w", m.name, err)
		}
	}
	return nil
}

// Ready reports whether the database answers and is migrated to the latest
// version this build knows; see store.Store.
func (s *Store) Ready(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("postgres: ready: %w", err)
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	var applied int
	err = s.query(ctx, func(ctx context.Context, q querier) error {
		return q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&applied)
	})
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "42P01": // undefined_table: never migrated
		applied = 0
	case err != nil:
		return fmt.Errorf("postgres: ready: %w", err)
	}
	if applied < latest {
		return fmt.Errorf("postgres: ready: the database is at migration %d, this build needs %d (run sesame migrate)", applied, latest)
	}
	return nil
}

// querier is what a transaction and the pool have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// write runs fn in one READ COMMITTED transaction and commits when fn
// returns nil. Domain outcomes that must still commit (a counted wrong try,
// a revoked family) are returned by fn's caller through a captured
// variable, not as fn's error. fn may run more than once (see run), so it
// must reset what it captures.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return s.run(ctx, opTimeout, pgx.TxOptions{}, fn)
}

// read runs fn in one read-only REPEATABLE READ transaction, so that several
// queries see one snapshot.
func (s *Store) read(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return s.run(ctx, opTimeout, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// run runs fn in a transaction with opts, within timeout (none when 0).
//
// A transaction that failed before its COMMIT was sent left nothing behind,
// so it is run again, on another connection, when the failure was a lost
// connection (a database restart, a terminated backend, a connection the
// pool had not yet found dead) or a deadlock or serialization failure: a
// caller sees a database that went away and came back as one slow call.
// A failure of the COMMIT itself is not retried, since the transaction may
// have committed. What still fails is wrapped in store.ErrUnavailable when
// the database could not be reached or could not serve the call in time.
func (s *Store) run(ctx context.Context, timeout time.Duration, opts pgx.TxOptions, fn func(ctx context.Context, tx pgx.Tx) error) (err error) {
	name := "postgres.write"
	if opts.AccessMode == pgx.ReadOnly {
		name = "postgres.read"
	}
	ctx, end := startSpan(ctx, name)
	defer func() { end(err) }()
	octx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		octx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	for attempt := 1; ; attempt++ {
		committing, err := s.attempt(octx, opts, fn)
		if err == nil {
			return nil
		}
		if !committing && retryable(err) && octx.Err() == nil && attempt <= s.maxConns {
			continue
		}
		return s.classify(ctx, octx, timeout, err)
	}
}

// attempt runs fn in one transaction; committing reports whether fn
// succeeded and the error, if any, is the COMMIT's.
func (s *Store) attempt(ctx context.Context, opts pgx.TxOptions, fn func(ctx context.Context, tx pgx.Tx) error) (committing bool, err error) {
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return false, err
	}
	// Deferred so that a panic in fn (UpdateTenant runs the caller's code)
	// cannot leave the connection inside a transaction. After a commit it
	// does nothing; with ctx done, pgx closes the connection instead.
	defer tx.Rollback(ctx)
	if err := fn(ctx, tx); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}

// query runs fn, one read statement on the pool, retrying it on another
// connection when the connection was lost (a read can always run again).
func (s *Store) query(ctx context.Context, fn func(ctx context.Context, q querier) error) (err error) {
	ctx, end := startSpan(ctx, "postgres.query")
	defer func() { end(err) }()
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := fn(octx, s.pool)
		if err == nil {
			return nil
		}
		if retryable(err) && octx.Err() == nil && attempt <= s.maxConns {
			continue
		}
		return s.classify(ctx, octx, opTimeout, err)
	}
}

// classify wraps err in store.ErrUnavailable when the database could not be
// reached or could not serve the call within timeout. An error after the
// caller's own context ended is the caller's, and stays as it is.
func (s *Store) classify(ctx, octx context.Context, timeout time.Duration, err error) error {
	switch {
	case err == nil, errors.Is(err, store.ErrUnavailable), ctx.Err() != nil:
		return err
	case octx.Err() != nil:
		return fmt.Errorf("%w: no answer within %v: %w", store.ErrUnavailable, timeout, err)
	case unavailable(err):
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// unavailable reports whether err says that the database cannot be reached
// or cannot serve the call right now, so that the same call may succeed
// later: no connection (refused, unreachable, timed out, too many
// connections, a server starting or shutting down), a lost one (terminated, reset, closed), a
// statement cancelled or timed out by the server, a lock or serialization
// conflict that outlived the retries, or a server that became read-only (a
// failover in progress). Anything else (a bad password, a missing database,
// a constraint) is the caller's or the operator's to fix.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),  // insufficient resources: too many connections, memory, disk
			strings.HasPrefix(pe.Code, "57P"), // admin or crash shutdown, cannot connect now
			pe.Code == "57014",                // query_canceled: statement_timeout, pg_cancel_backend
			pe.Code == "55P03",                // lock_not_available: lock_timeout
			pe.Code == "40001",                // serialization_failure
			pe.Code == "40P01",                // deadlock_detected
			pe.Code == "25006":                // read_only_sql_transaction: a standby
			return true
		}
		return false
	}
	// A connection that could not be made (refused, unreachable, timed
	// out) or was lost shows as a network error; one refused for a reason
	// that another try would only repeat (a certificate that does not
	// verify, TLS that the server does not offer) does not.
	var ne net.Error
	if errors.As(err, &ne) || pgconn.Timeout(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	// On a connection that was made, an error that came before anything
	// was sent (a connection found closed) is one too.
	return !isConnect(err) && pgconn.SafeToRetry(err)
}

// retryable reports whether a transaction that failed with err before its
// COMMIT can simply run again: it was rolled back by a deadlock or a
// serialization failure, or its connection was lost (not: could not be
// made, which another try would only repeat).
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01", "57P01", "57P02":
			return true
		}
		return strings.HasPrefix(pe.Code, "08") && !isConnect(err)
	}
	if isConnect(err) || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return unavailable(err)
}

func isConnect(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}

// lockKeySQL turns a lock name ($1) into the key of an advisory lock,
// prefixed by the schema so that stores on different schemas of one
// database never share a lock.
const lockKeySQL = `hashtextextended(coalesce(current_schema(), '') || '/' || $1, 0)`

// lockName is the name of the advisory lock on kind and parts; the parts are
// length-prefixed so that no two lists of parts make the same name.
func lockName(kind string, parts ...string) string {
	var b strings.Builder
	b.WriteString(kind)
	for _, p := range parts {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteString(":")
		b.WriteString(p)
	}
	return b.String()
}

// lock takes the transaction-scoped advisory locks on names, in the order
// given; they are released when the transaction ends. Each lock is its own
// statement, so that the statements after it (each with its own snapshot,
// under READ COMMITTED) see what the previous holder committed.
func lock(ctx context.Context, tx pgx.Tx, names ...string) error {
	for _, n := range names {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+lockKeySQL+`)`, n); err != nil {
			return err
		}
	}
	return nil
}

// ts is the stored form of a time: the instant at millisecond precision (as
// the SQLite backend keeps it), NULL for the zero time.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// at scans a timestamptz into *t, in UTC; NULL is the zero time.
func at(t *time.Time) pgtype.TimestamptzScanner { return timeScanner{t} }

type timeScanner struct{ t *time.Time }

func (s timeScanner) ScanTimestamptz(v pgtype.Timestamptz) error {
	switch {
	case !v.Valid:
		*s.t = time.Time{}
	case v.InfinityModifier != pgtype.Finite:
		return errors.New("postgres: an infinite time is stored")
	default:
		*s.t = v.Time.UTC()
	}
	return nil
}

// duplicate turns a uniqueness violation into store.ErrAlreadyExists.
func duplicate(err error, format string, args ...any) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), store.ErrAlreadyExists)
	}
	return err
}

// notFoundIfNone turns a statement that matched no row into
// store.ErrNotFound.
func notFoundIfNone(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// text is the stored form of free text from outside (bytea: it need not be
// valid UTF-8): its bytes, never NULL.
func text(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return []byte(s)
}

// PoolStats reports the connection pool.
func (s *Store) PoolStats() []store.PoolStats {
	st := s.pool.Stat()
	return []store.PoolStats{{Pool: "main", Max: int(st.MaxConns()), Open: int(st.TotalConns()), InUse: int(st.AcquiredConns()),
		Idle: int(st.IdleConns()), WaitCount: st.EmptyAcquireCount(), WaitDuration: st.EmptyAcquireWaitTime()}}
}
