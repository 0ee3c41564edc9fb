// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema on the server that SESAME_TEST_POSTGRES names, dropped when the
// test ends. Tests that use it are skipped when the variable is unset.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env is the environment variable that holds the URL of the test server,
// e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const Env = "SESAME_TEST_POSTGRES"

// BaseURL returns the URL in SESAME_TEST_POSTGRES, and skips the test when it
// is unset.
func BaseURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		t.Skip(Env + " not set: PostgreSQL backend tests skipped")
	}
	return base
}

// URL creates an empty schema sesame_test_<random> on the server that
// SESAME_TEST_POSTGRES names, registers its removal (DROP SCHEMA … CASCADE)
// for when the test and its cleanups before this one are done, and returns
// the server's URL with search_path set to the schema, so that every
// connection made from it works in the schema alone. Parallel tests,
// packages and reruns never share a schema. It skips the test when the
// variable is unset.
func URL(t testing.TB) string {
	t.Helper()
	base := BaseURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s does not parse as a URL", Env)
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "sesame_test_" + hex.EncodeToString(b[:])

	exec(t, base, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { exec(t, base, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })

	q := u.Query()
	q.Set("search_path", schema)
	// Tests need no durability; not waiting for each commit to reach the
	// disk makes suites of many small transactions several times faster.
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}

// exec runs one statement on its own connection to base. It does not use
// t.Context(), which is done by the time cleanups run.
func exec(t testing.TB, base, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", Env, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}
