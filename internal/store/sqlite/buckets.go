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

// TakeTokens takes one token from each bucket in one immediate transaction,
// all or nothing; see store.Store. For each bucket: read the level, refill it
// for the time since the last take (at Limit.Burst tokens per Limit.Per,
// capped at Limit.Burst; a missing bucket is full), then, when every bucket
// has a whole token, take one from each and write the levels back. A limit
// with Burst <= 0 or Per <= 0 is an error.
//
// Reset is when the bucket is full again; it is also stored (full_at) so that
// PurgeExpired can delete buckets that are full, which are the same as no
// bucket, without knowing their limit.
func (s *Store) TakeTokens(ctx context.Context, takes []store.Take, now time.Time) ([]store.Bucket, error) {
	var (
		bs      []store.Bucket
		limited bool
	)
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		bs, limited, err = takeTokensTx(ctx, tx, takes, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: take tokens: %w", err)
	}
	if limited {
		return bs, store.ErrRateLimited
	}
	return bs, nil
}

// takeTokensTx is TakeTokens inside tx. A refused take still writes the
// refused bucket's refill, so that its state and Reset stay exact; nothing
// is taken from any bucket.
func takeTokensTx(ctx context.Context, tx *sql.Tx, takes []store.Take, now time.Time) (bs []store.Bucket, limited bool, err error) {
	type state struct {
		tokens float64
		at     int64
	}
	states := make([]state, len(takes))
	refused := -1
	for i, t := range takes {
		if t.Limit.Burst <= 0 || t.Limit.Per <= 0 {
			return nil, false, fmt.Errorf("bucket %q: invalid limit %d per %v", t.Key, t.Limit.Burst, t.Limit.Per)
		}
		burst := float64(t.Limit.Burst)
		at, tokens := now.UnixMilli(), burst
		var (
			stored  float64
			updated int64
		)
		err := tx.QueryRowContext(ctx, `SELECT tokens, updated_at FROM buckets WHERE key = ?`, t.Key).Scan(&stored, &updated)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, false, err
		default:
			// A clock that went backwards (another replica's, or this
			// one's after an adjustment) refills nothing, and the later
			// time is kept so that no interval is ever refilled twice.
			at = max(at, updated)
			perMS := float64(t.Limit.Per) / float64(time.Millisecond)
			tokens = min(burst, snap(stored+float64(at-updated)*burst/perMS))
		}
		states[i] = state{tokens, at}
		if tokens < 1 && refused < 0 {
			refused = i
		}
	}
	bs = make([]store.Bucket, len(takes))
	for i, t := range takes {
		st := states[i]
		switch {
		case refused < 0:
			st.tokens--
			bs[i].Allowed = true
		case i != refused:
			bs[i].Allowed = true // would have been; nothing was taken
		}
		burst := float64(t.Limit.Burst)
		perMS := float64(t.Limit.Per) / float64(time.Millisecond)
		fullAt := st.at + int64(math.Ceil(snap((burst-st.tokens)*perMS/burst)))
		if refused < 0 || i == refused {
			if _, err := tx.ExecContext(ctx, `INSERT INTO buckets (key, tokens, updated_at, full_at)
				VALUES (?, ?, ?, ?)
				ON CONFLICT (key) DO UPDATE SET
					tokens = excluded.tokens, updated_at = excluded.updated_at, full_at = excluded.full_at`,
				t.Key, st.tokens, st.at, fullAt); err != nil {
				return nil, false, err
			}
		}
		bs[i].Remaining = int(math.Floor(st.tokens))
		bs[i].Reset = fromMS(fullAt)
	}
	return bs, refused >= 0, nil
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
