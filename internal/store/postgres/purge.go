package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// purgeBatch is how many rows one purge statement deletes at most.
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

// PurgeExpired deletes what is past any use at now, as the SQLite backend
// does:
//   - codes 24 hours after they expired (until then a used or replaced code
//     still answers ErrCodeStale and an expired one ErrCodeExpired);
//   - outbox rows that are sent, expired or failed, 24 hours after they were
//     created or sent, whichever is later, and pending rows 24 hours after
//     their NotAfter (no worker claimed them in time);
//   - refresh tokens past their ExpiresAt, and revoked ones 24 hours after
//     they were revoked;
//   - authorization codes an hour after they expired, used or not;
//   - login tickets and sessions at their ExpiresAt;
//   - rate-limit buckets once they are full again;
//   - failure rows 30 days after the failure, and pair counters 30 days
//     after their last failure;
//   - blocks at their ExpiresAt;
//   - events eventRetention after they were created (30 days by default);
//   - rotated signing keys once their PublishedUntil has passed.
//
// One replica purges at a time: the first to take the schema's purge lock
// (a session advisory lock, pg_try_advisory_lock, on a connection held for
// the purge) does the work, and the others return nil at once. It deletes
// in batches of purgeBatch rows, each statement its own short transaction,
// so that a table holding millions of dead rows never holds locks for long.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time, eventRetention time.Duration) error {
	if eventRetention <= 0 {
		eventRetention = store.DefaultEventRetention
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: purge: %w", s.classify(ctx, ctx, 0, err))
	}
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+lockKeySQL+`)`, lockName("purge")).Scan(&locked); err != nil {
		conn.Release()
		return fmt.Errorf("postgres: purge: %w", s.classify(ctx, ctx, 0, err))
	}
	if !locked {
		conn.Release()
		return nil // another replica is purging
	}
	defer func() {
		// A connection that still holds the lock must not go back to the
		// pool: if the unlock fails, close it, which releases the lock.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(`+lockKeySQL+`)`, lockName("purge")); err != nil {
			conn.Conn().Close(uctx)
		}
		conn.Release()
	}()

	grace, keep := now.Add(-purgeGrace), now.Add(-retention)
	for _, q := range []struct {
		table, where string
		args         []any
	}{
		{"codes", `expires_at <= $1`, []any{ts(grace)}},
		{"outbox", `(status <> 'pending' AND greatest(created_at, sent_at) <= $1)
			OR (status = 'pending' AND not_after <= $1)`, []any{ts(grace)}},
		{"refresh_tokens", `expires_at <= $1 OR revoked_at <= $2`, []any{ts(now), ts(grace)}},
		{"auth_codes", `expires_at <= $1`, []any{ts(now.Add(-authCodeGrace))}},
		{"login_tickets", `expires_at <= $1`, []any{ts(now)}},
		{"sessions", `expires_at <= $1`, []any{ts(now)}},
		{"buckets", `full_at <= $1`, []any{ts(now)}},
		{"failures", `at <= $1`, []any{ts(keep)}},
		{"pair_failures", `last_at <= $1`, []any{ts(keep)}},
		{"blocks", `expires_at <= $1`, []any{ts(now)}},
		{"events", `created_at <= $1`, []any{ts(now.Add(-eventRetention))}},
		{"signing_keys", `NOT is_current AND published_until <= $1`, []any{ts(now)}},
	} {
		for {
			bctx, cancel := context.WithTimeout(ctx, opTimeout)
			tag, err := conn.Exec(bctx, `DELETE FROM `+q.table+` WHERE ctid = ANY (ARRAY(
				SELECT ctid FROM `+q.table+` WHERE `+q.where+` LIMIT `+strconv.Itoa(purgeBatch)+`))`, q.args...)
			err = s.classify(ctx, bctx, opTimeout, err)
			cancel()
			if err != nil {
				return fmt.Errorf("postgres: purge %s: %w", q.table, err)
			}
			if tag.RowsAffected() < purgeBatch {
				break
			}
		}
	}
	return nil
}
