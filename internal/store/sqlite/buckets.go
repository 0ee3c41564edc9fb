package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// TakeToken takes one token from the bucket key at now, in one immediate
// transaction: read the level, refill it for the time since the last take
// (at limit.Burst tokens per limit.Per, capped at limit.Burst; a missing
// bucket is full), take a token if there is a whole one, write the level
// back. A limit with Burst <= 0 or Per <= 0 is an error.
//
// Reset is when the bucket is full again; it is also stored (full_at) so that
// PurgeExpired can delete buckets that are full, which are the same as no
// bucket, without knowing their limit.
func (s *Store) TakeToken(ctx context.Context, key string, limit store.Limit, now time.Time) (store.Bucket, error) {
	if limit.Burst <= 0 || limit.Per <= 0 {
		return store.Bucket{}, fmt.Errorf("sqlite: take token %q: invalid limit %d per %v", key, limit.Burst, limit.Per)
	}
	burst := float64(limit.Burst)
	perMS := float64(limit.Per) / float64(time.Millisecond)
	var b store.Bucket
	err := s.write(ctx, func(tx *sql.Tx) error {
		at := now.UnixMilli()
		tokens := burst
		var (
			stored  float64
			updated int64
		)
		err := tx.QueryRowContext(ctx, `SELECT tokens, updated_at FROM buckets WHERE key = ?`, key).Scan(&stored, &updated)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			// A clock that went backwards (another replica's, or this
			// one's after an adjustment) refills nothing, and the later
			// time is kept so that no interval is ever refilled twice.
			at = max(at, updated)
			tokens = min(burst, snap(stored+float64(at-updated)*burst/perMS))
		}
		if tokens >= 1 {
			tokens--
			b.Allowed = true
		}
		fullAt := at + int64(math.Ceil(snap((burst-tokens)*perMS/burst)))
		if _, err := tx.ExecContext(ctx, `INSERT INTO buckets (key, tokens, updated_at, full_at)
			VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET
				tokens = excluded.tokens, updated_at = excluded.updated_at, full_at = excluded.full_at`,
			key, tokens, at, fullAt); err != nil {
			return err
		}
		b.Remaining = int(math.Floor(tokens))
		b.Reset = fromMS(fullAt)
		return nil
	})
	if err != nil {
		return store.Bucket{}, fmt.Errorf("sqlite: take token %q: %w", key, err)
	}
	return b, nil
}

// snap rounds x to the nearest whole number when it is within float noise of
// it, so that a refill that should come to exactly one token (or a wait of
// exactly so many milliseconds) is not 0.9999999999 of one.
func snap(x float64) float64 {
	if r := math.Round(x); math.Abs(x-r) < 1e-6 {
		return r
	}
	return x
}
