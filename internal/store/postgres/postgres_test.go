package postgres_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/postgres"
	"github.com/sesame-id/sesame/internal/store/postgres/pgtest"
	"github.com/sesame-id/sesame/internal/store/storetest"
)

// open opens a Store on rawURL with a small pool (the suite opens many) and
// closes it when the test ends.
func open(t *testing.T, rawURL string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(t.Context(), rawURL, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// migrated opens a Store on a fresh schema and migrates it.
func migrated(t *testing.T) (*postgres.Store, string) {
	t.Helper()
	u := pgtest.URL(t)
	st := open(t, u)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st, u
}

// connect opens one plain connection on rawURL, closed when the test ends.
func connect(t *testing.T, rawURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), rawURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestConformance(t *testing.T) {
	pgtest.BaseURL(t)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.URL(t)) })
}

// TestReplicas opens several Stores on one schema, as several replicas would.
func TestReplicas(t *testing.T) {
	pgtest.BaseURL(t)
	storetest.RunReplicas(t, func(t *testing.T, n int) []store.Store {
		u := pgtest.URL(t)
		sts := make([]store.Store, n)
		for i := range sts {
			sts[i] = open(t, u)
		}
		return sts
	})
}

// TestMigrate_ConcurrentStartersOnEmptySchema is several replicas starting at
// the same moment on an empty database: each opens its own Store and
// migrates; all succeed, and each migration is applied once.
func TestMigrate_ConcurrentStartersOnEmptySchema(t *testing.T) {
	u := pgtest.URL(t)
	const n = 8
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st, err := postgres.Open(t.Context(), u, postgres.Options{MaxConns: 2})
			if err != nil {
				errs[i] = err
				return
			}
			defer st.Close()
			<-start
			if errs[i] = st.Migrate(t.Context()); errs[i] == nil {
				errs[i] = st.Ready(t.Context())
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("starter %d: %v", i, err)
		}
	}
	var rows, versions int
	if err := connect(t, u).QueryRow(t.Context(),
		`SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	if rows != versions || rows == 0 {
		t.Errorf("schema_migrations holds %d rows for %d versions, want one row per version", rows, versions)
	}
}

// TestMigrate_SchemasAreIndependent: the migration lock and the tables are
// the schema's, so two schemas on one database migrate side by side.
func TestMigrate_SchemasAreIndependent(t *testing.T) {
	a, _ := migrated(t)
	b, _ := migrated(t)
	if _, err := a.EnsureSecret(t.Context(), "hmac", []byte("a")); err != nil {
		t.Fatal(err)
	}
	got, err := b.EnsureSecret(t.Context(), "hmac", []byte("b"))
	if err != nil || string(got) != "b" {
		t.Errorf("EnsureSecret on the second schema = %q, %v; want its own value %q", got, err, "b")
	}
}

// withAppName returns rawURL with application_name set to a name no other
// test uses, so that its connections can be found in pg_stat_activity.
func withAppName(t *testing.T, rawURL string) (string, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "sesame-test-" + hex.EncodeToString(b[:])
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String(), name
}

// terminate ends every server connection of application name, as an
// operator's pg_terminate_backend or a database restart would, and returns
// how many it ended.
func terminate(t *testing.T, name string) int {
	t.Helper()
	conn := connect(t, pgtest.BaseURL(t))
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid))
		FROM pg_stat_activity WHERE application_name = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOutage_TerminatedConnectionsAreReplaced: after the server ends the
// pool's connections, the same Store answers again without being reopened;
// a call in between either succeeds (run again on a new connection) or
// fails with store.ErrUnavailable, never with another error.
func TestOutage_TerminatedConnectionsAreReplaced(t *testing.T) {
	_, base := migrated(t)
	u, name := withAppName(t, base)
	st := open(t, u)
	ctx := t.Context()
	if _, err := st.EnsureSecret(ctx, "hmac", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		if n := terminate(t, name); n == 0 {
			t.Fatalf("round %d: no connection of %s to terminate", round, name)
		}
		for i, call := range []func() error{
			func() error { return st.Ready(ctx) },
			func() error { _, err := st.EnsureSecret(ctx, "hmac", []byte("new")); return err },
			func() error { _, err := st.Tenant(ctx); return err },
		} {
			if err := call(); err != nil && !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("round %d, call %d after the connections were terminated: %v, want nil or ErrUnavailable", round, i, err)
			}
		}
		got, err := st.EnsureSecret(ctx, "hmac", []byte("new"))
		if err != nil || string(got) != "kept" {
			t.Fatalf("round %d: EnsureSecret after the outage = %q, %v; want %q", round, got, err, "kept")
		}
	}
}

// TestOutage_TransactionCutOffIsRunAgain: a transaction whose connection is
// terminated before it commits left nothing behind, so the store runs it
// again on a new connection and the caller sees it succeed once.
func TestOutage_TransactionCutOffIsRunAgain(t *testing.T) {
	_, base := migrated(t)
	u, name := withAppName(t, base)
	st := open(t, u)
	var calls atomic.Int32
	err := st.UpdateTenant(t.Context(), func(ts *store.TenantState) error {
		if calls.Add(1) == 1 {
			terminate(t, name)
		}
		ts.Clients = append(ts.Clients, store.ClientRecord{ClientID: "cli-1", Name: "One"})
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateTenant across a terminated connection: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("fn ran %d times, want 2 (once cut off, once committed)", n)
	}
	got, err := st.Tenant(t.Context())
	if err != nil || len(got.Clients) != 1 {
		t.Errorf("Tenant = %+v, %v; want the one client written once", got, err)
	}
}

// closedPortURL is a URL on a loopback port where nothing listens.
func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "postgres://sesame:secret-password@" + addr + "/sesame?sslmode=disable"
}

// TestUnavailable_ClosedPort needs no server: a database that refuses
// connections is store.ErrUnavailable at once, from Ready and from a write,
// and the error does not show the password.
func TestUnavailable_ClosedPort(t *testing.T) {
	st := open(t, closedPortURL(t))
	started := time.Now()
	err := st.Ready(t.Context())
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ready on a closed port = %v, want ErrUnavailable", err)
	}
	if d := time.Since(started); d > 3*time.Second {
		t.Errorf("Ready on a closed port took %v", d)
	}
	_, err = st.EnsureSecret(t.Context(), "hmac", []byte("x"))
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("EnsureSecret on a closed port = %v, want ErrUnavailable", err)
	}
	if err != nil && strings.Contains(err.Error(), "secret-password") {
		t.Errorf("the error shows the password: %v", err)
	}
	if err := st.PurgeExpired(t.Context(), time.Now(), 0); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("PurgeExpired on a closed port = %v, want ErrUnavailable", err)
	}
}

// TestOpen_Defaults needs no server: Open does not connect, and fills in
// what the URL leaves out.
func TestOpen_Defaults(t *testing.T) {
	base := "postgres://sesame@127.0.0.1:1/sesame"
	for _, c := range []struct {
		url            string
		opts           postgres.Options
		max, min       int32
		connectTimeout time.Duration
		appName        string
	}{
		{base, postgres.Options{}, int32(postgres.DefaultMaxConns()), 2, postgres.DefaultConnectTimeout, "sesame"},
		{base, postgres.Options{MaxConns: 7}, 7, 2, postgres.DefaultConnectTimeout, "sesame"},
		{base, postgres.Options{MaxConns: 1}, 1, 1, postgres.DefaultConnectTimeout, "sesame"},
		{base + "?pool_max_conns=3&pool_min_conns=1&connect_timeout=3&application_name=edge", postgres.Options{}, 3, 1, 3 * time.Second, "edge"},
		{base + "?pool_max_conns=3", postgres.Options{MaxConns: 9}, 9, 2, postgres.DefaultConnectTimeout, "sesame"},
	} {
		st, err := postgres.Open(t.Context(), c.url, c.opts)
		if err != nil {
			t.Fatalf("Open(%s, %+v): %v", c.url, c.opts, err)
		}
		cfg := st.PoolConfig()
		if cfg.MaxConns != c.max || cfg.MinConns != c.min || cfg.ConnConfig.ConnectTimeout != c.connectTimeout ||
			cfg.ConnConfig.RuntimeParams["application_name"] != c.appName || cfg.HealthCheckPeriod <= 0 {
			t.Errorf("Open(%s, %+v): max %d, min %d, connect timeout %v, application_name %q, health checks every %v; want %d, %d, %v, %q",
				c.url, c.opts, cfg.MaxConns, cfg.MinConns, cfg.ConnConfig.ConnectTimeout,
				cfg.ConnConfig.RuntimeParams["application_name"], cfg.HealthCheckPeriod, c.max, c.min, c.connectTimeout, c.appName)
		}
		st.Close()
	}
}

// TestOpen_RefusesBadURLsWithoutShowingThePassword needs no server.
func TestOpen_RefusesBadURLsWithoutShowingThePassword(t *testing.T) {
	for _, u := range []string{
		"mysql://u:hunter2@host/db",
		"postgres://u:hunter2@host:notaport/db",
		"postgres://u:hunter2@host/db?sslmode=bogus",
		"postgres://u:hunter2@host/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
		"postgres://u:hunter2@host/db?sslmode=require&sslcert=/nonexistent/client.pem&sslkey=/nonexistent/client.key",
	} {
		st, err := postgres.Open(t.Context(), u, postgres.Options{})
		if err == nil {
			st.Close()
			t.Errorf("Open(%s) succeeded, want an error", u)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%s) = %v: the error shows the password", u, err)
		}
	}
}

// withParams returns rawURL with the query parameters kv (name, value, …)
// set, and an application_name of its own, which it also returns.
func withParams(t *testing.T, rawURL string, kv ...string) (string, string) {
	t.Helper()
	u, name := withAppName(t, rawURL)
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := parsed.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	parsed.RawQuery = q.Encode()
	return parsed.String(), name
}

// usesTLS reports whether the server connections of application name are
// encrypted (all of them, and there is at least one).
func usesTLS(t *testing.T, base, name string) bool {
	t.Helper()
	var all *bool
	if err := connect(t, base).QueryRow(t.Context(), `SELECT bool_and(s.ssl)
		FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1`, name).Scan(&all); err != nil {
		t.Fatal(err)
	}
	return all != nil && *all
}

// selfSignedCA writes a CA certificate that signed nothing the server has.
func selfSignedCA(t *testing.T) string {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the server's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTLS_URLParametersAreHonoured: sslmode and sslrootcert in the URL decide
// whether and how the connections are encrypted, as libpq's do.
func TestTLS_URLParametersAreHonoured(t *testing.T) {
	_, base := migrated(t)
	var ssl, certFile string
	if err := connect(t, base).QueryRow(t.Context(),
		`SELECT current_setting('ssl'), current_setting('ssl_cert_file')`).Scan(&ssl, &certFile); err != nil {
		t.Fatal(err)
	}
	ready := func(u string) error { return open(t, u).Ready(t.Context()) }

	u, name := withParams(t, base, "sslmode", "disable")
	if err := ready(u); err != nil || usesTLS(t, base, name) {
		t.Errorf("sslmode=disable: Ready = %v, encrypted: %v; want a plain connection", err, usesTLS(t, base, name))
	}
	if ssl != "on" {
		u, _ = withParams(t, base, "sslmode", "require")
		if err := ready(u); err == nil {
			t.Errorf("sslmode=require on a server without TLS: Ready = nil, want an error")
		}
		return
	}
	u, name = withParams(t, base, "sslmode", "require")
	if err := ready(u); err != nil || !usesTLS(t, base, name) {
		t.Errorf("sslmode=require: Ready = %v, encrypted: %v; want an encrypted connection", err, usesTLS(t, base, name))
	}
	// The server's certificate is its own CA on a stock Debian server
	// (snakeoil); verify-ca checks the chain, not the host name.
	if _, err := os.Stat(certFile); err == nil {
		u, name = withParams(t, base, "sslmode", "verify-ca", "sslrootcert", certFile)
		if err := ready(u); err != nil || !usesTLS(t, base, name) {
			t.Errorf("sslmode=verify-ca with the server's certificate as root: Ready = %v, encrypted: %v", err, usesTLS(t, base, name))
		}
	}
	u, _ = withParams(t, base, "sslmode", "verify-ca", "sslrootcert", selfSignedCA(t))
	switch err := ready(u); {
	case err == nil:
		t.Errorf("sslmode=verify-ca with a CA that did not sign the server's certificate: Ready = nil, want an error")
	case errors.Is(err, store.ErrUnavailable):
		t.Errorf("a certificate that does not verify is %v; want a plain error (a misconfiguration, not an outage)", err)
	}
}

// TestPurge_OneReplicaAtATime: while another replica holds the purge lock,
// PurgeExpired returns at once and deletes nothing; afterwards it purges.
func TestPurge_OneReplicaAtATime(t *testing.T) {
	st, u := migrated(t)
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	old := now.Add(-31 * 24 * time.Hour)
	if err := st.AddEvents(t.Context(), store.Event{ID: "old", Type: "limit_wc", CreatedAt: old}); err != nil {
		t.Fatal(err)
	}
	other := connect(t, u)
	if _, err := other.Exec(t.Context(), `SELECT pg_advisory_lock(`+postgres.LockKeySQL+`)`, postgres.LockName("purge")); err != nil {
		t.Fatal(err)
	}
	if err := st.PurgeExpired(t.Context(), now, 0); err != nil {
		t.Fatalf("PurgeExpired while another replica purges: %v", err)
	}
	if page, _ := st.Events(t.Context(), store.EventQuery{}); len(page.Events) != 1 {
		t.Errorf("PurgeExpired deleted while another replica held the purge lock: %d events left", len(page.Events))
	}
	if _, err := other.Exec(t.Context(), `SELECT pg_advisory_unlock(`+postgres.LockKeySQL+`)`, postgres.LockName("purge")); err != nil {
		t.Fatal(err)
	}
	if err := st.PurgeExpired(t.Context(), now, 0); err != nil {
		t.Fatal(err)
	}
	if page, _ := st.Events(t.Context(), store.EventQuery{}); len(page.Events) != 0 {
		t.Errorf("PurgeExpired after the lock was released left %d events", len(page.Events))
	}
	// The purge released its own lock: another session can take it.
	var got bool
	if err := other.QueryRow(t.Context(), `SELECT pg_try_advisory_lock(`+postgres.LockKeySQL+`)`, postgres.LockName("purge")).Scan(&got); err != nil || !got {
		t.Errorf("the purge lock is still held after PurgeExpired: %v, %v", got, err)
	}
}

var k0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

func key(kid, alg string, created time.Time) store.SigningKey {
	return store.SigningKey{KID: kid, Algorithm: alg, PrivatePEM: []byte("pem of " + kid), CreatedAt: created}
}

func kids(t *testing.T, st *postgres.Store, now time.Time) string {
	t.Helper()
	keys, err := st.SigningKeys(t.Context(), now)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.KID)
	}
	return strings.Join(ids, ",")
}

func TestSigningKeys_OneCurrentKeyPerAlgorithm(t *testing.T) {
	st, _ := migrated(t)
	for _, k := range []store.SigningKey{key("rs1", "RS256", k0), key("es1", "ES256", k0.Add(time.Second)), key("rs2", "RS256", k0.Add(2*time.Second))} {
		if _, err := st.EnsureSigningKey(t.Context(), k); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.EnsureSigningKey(t.Context(), key("es2", "ES256", k0))
	if err != nil || got.KID != "es1" {
		t.Errorf("EnsureSigningKey(ES256) with es1 current = %s, %v; want es1", got.KID, err)
	}
	if got := kids(t, st, k0); got != "es1,rs1" {
		t.Errorf("SigningKeys = %s, want es1,rs1", got)
	}
}

func TestSigningKeys_RotationPublishesTheOldKeyUntilItsTime(t *testing.T) {
	st, _ := migrated(t)
	ctx := t.Context()
	old, err := st.RotateSigningKey(ctx, key("rs1", "RS256", k0), "", time.Time{})
	if err != nil || old.KID != "" {
		t.Fatalf("first RotateSigningKey = %+v, %v; want no replaced key", old, err)
	}
	rotated, until := k0.Add(time.Hour), k0.Add(25*time.Hour)
	old, err = st.RotateSigningKey(ctx, key("rs2", "RS256", rotated), "rs1", until)
	if err != nil {
		t.Fatal(err)
	}
	if old.KID != "rs1" || !old.RotatedAt.Equal(rotated) || !old.PublishedUntil.Equal(until) || string(old.PrivatePEM) != "pem of rs1" {
		t.Errorf("replaced key = %+v, want rs1 rotated at %v, published until %v", old, rotated, until)
	}
	if _, err := st.RotateSigningKey(ctx, key("rs3", "RS256", rotated), "rs1", until); !errors.Is(err, store.ErrKeyChanged) {
		t.Errorf("rotating a key that is no longer current = %v, want ErrKeyChanged", err)
	}
	if cur, err := st.EnsureSigningKey(ctx, key("rs9", "RS256", rotated)); err != nil || cur.KID != "rs2" {
		t.Errorf("EnsureSigningKey after the rotation = %s, %v; want rs2", cur.KID, err)
	}
	if got := kids(t, st, until.Add(-time.Millisecond)); got != "rs2,rs1" {
		t.Errorf("SigningKeys before PublishedUntil = %s, want rs2,rs1", got)
	}
	if got := kids(t, st, until); got != "rs2" {
		t.Errorf("SigningKeys at PublishedUntil = %s, want rs2", got)
	}
	if err := st.PurgeExpired(ctx, until.Add(-time.Millisecond), 0); err != nil {
		t.Fatal(err)
	}
	if got := kids(t, st, k0); got != "rs2,rs1" {
		t.Errorf("after a purge before PublishedUntil, SigningKeys = %s, want rs1 kept", got)
	}
	if err := st.PurgeExpired(ctx, until, 0); err != nil {
		t.Fatal(err)
	}
	if got := kids(t, st, k0); got != "rs2" {
		t.Errorf("after a purge at PublishedUntil, SigningKeys = %s, want rs1 deleted", got)
	}
}

func TestSigningKeys_ConcurrentRotationsOfOneKeyHaveOneWinner(t *testing.T) {
	st, u := migrated(t)
	other := open(t, u)
	if _, err := st.EnsureSigningKey(t.Context(), key("rs0", "RS256", k0)); err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		s := st
		if i%2 == 1 {
			s = other
		}
		wg.Go(func() {
			_, errs[i] = s.RotateSigningKey(t.Context(), key(fmt.Sprint("next-", i), "RS256", k0.Add(time.Hour)), "rs0", k0.Add(2*time.Hour))
		})
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrKeyChanged):
			t.Errorf("rotation %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent rotations of rs0 succeeded, want 1", wins)
	}
	if got := kids(t, st, k0); !strings.HasPrefix(got, "next-") || !strings.HasSuffix(got, ",rs0") || strings.Count(got, ",") != 1 {
		t.Errorf("SigningKeys after the rotations = %s, want one new key and rs0", got)
	}
}

// TestRefresh_RotationsAndRevocationsOfOneFamilyNeverDeadlock: replicas
// rotating, reusing and revoking tokens of one family at once each get an
// answer of the family's rules, never a deadlock or another error.
func TestRefresh_RotationsAndRevocationsOfOneFamilyNeverDeadlock(t *testing.T) {
	st, u := migrated(t)
	other := open(t, u)
	hash := func(v string) []byte { return []byte("hash of " + v) }
	tok := func(v string) store.RefreshToken {
		return store.RefreshToken{ID: v, Hash: hash(v), FamilyID: "fam", ClientID: "cli", UserID: "u", CreatedAt: k0}
	}
	const n = 8
	for i := range n {
		if err := st.CreateRefreshToken(t.Context(), tok(fmt.Sprint("t", i))); err != nil {
			t.Fatal(err)
		}
	}
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		s := st
		if i%2 == 1 {
			s = other
		}
		wg.Go(func() {
			next := tok(fmt.Sprint("next", i))
			_, errs[2*i] = s.UseRefreshToken(t.Context(), hash(fmt.Sprint("t", i)), k0, true, 0, &next)
		})
		wg.Go(func() {
			if i%2 == 0 {
				errs[2*i+1] = s.RevokeRefreshToken(t.Context(), hash(fmt.Sprint("t", (i+1)%n)), "cli", k0)
			} else {
				errs[2*i+1] = s.RevokeRefreshFamily(t.Context(), "fam", k0)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, store.ErrTokenRevoked) && !errors.Is(err, store.ErrTokenReused) {
			t.Errorf("call %d: %v", i, err)
		}
	}
	for i := range n {
		got, err := st.RefreshToken(t.Context(), hash(fmt.Sprint("t", i)))
		if err != nil || got.RevokedAt.IsZero() {
			t.Errorf("token t%d after the revocations: %+v, %v; want revoked", i, got, err)
		}
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		st, err := postgres.Open(b.Context(), pgtest.URL(b), postgres.Options{})
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
