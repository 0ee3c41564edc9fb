package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// SQLite spends a good part of a short transaction parsing its SQL; the
// store's statements are few and fixed, so each is prepared once per
// connection and kept (database/sql re-prepares on a connection that has
// not seen it). stmtTx is a transaction whose ExecContext, QueryContext and
// QueryRowContext use them.

// maxCached bounds the cache, should a caller ever build SQL that varies.
const maxCached = 256

type stmtCache struct {
	db      *sql.DB
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// get returns the prepared statement of query, or nil when it is not
// prepared yet: the caller then runs the SQL as it is, and query is
// prepared after the transaction (prepare, which needs a connection of
// its own, must not wait for the one the transaction holds: the writer
// has only one).
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st
	}
	if c.m != nil && len(c.m)+len(c.pending) < maxCached && !strings.Contains(strings.TrimRight(strings.TrimSpace(query), ";"), ";") {
		// A script (a migration) runs as it is: a statement is one statement.
		c.pending[query] = true
	}
	return nil
}

// prepare prepares what get was asked for and did not have; it runs when
// no transaction of the store's holds a connection it would need.
func (c *stmtCache) prepare(ctx context.Context) {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}
	queries := make([]string, 0, len(c.pending))
	for q := range c.pending {
		queries = append(queries, q)
	}
	clear(c.pending)
	c.mu.Unlock()
	// Not under mu: preparing waits for a connection, and a transaction
	// holding one may be asking get for a statement meanwhile.
	for _, q := range queries {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue // asked for again next time
		}
		c.mu.Lock()
		if _, ok := c.m[q]; ok || c.m == nil {
			st.Close()
		} else {
			c.m[q] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil // closed: nothing more is kept
}

// stmtTx is a transaction that runs its statements prepared. When ctx is
// set, its statements run under it instead of the context they are given:
// a group-committed write runs to its end whatever happens to its caller's.
type stmtTx struct {
	*sql.Tx
	cache *stmtCache
	ctx   context.Context
}

func (t *stmtTx) context(ctx context.Context) context.Context {
	if t.ctx != nil {
		return t.ctx
	}
	return ctx
}

func (t *stmtTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = t.context(ctx)
	if st := t.cache.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *stmtTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = t.context(ctx)
	if st := t.cache.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *stmtTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = t.context(ctx)
	if st := t.cache.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}
