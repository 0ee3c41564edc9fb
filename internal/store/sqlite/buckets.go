package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// TakeTokens takes one token from each bucket in one immediate transaction,
// all or nothing; see store.Store and store.Takes, which holds the rule.
func (s *Store) TakeTokens(ctx context.Context, takes []store.Take, now time.Time) ([]store.Bucket, error) {
	var (
		bs      []store.Bucket
		limited bool
	)
	err := s.write(ctx, func(tx *stmtTx) error {
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

// takeTokensTx is TakeTokens inside tx: it reads the buckets' levels, lets
// store.Takes decide, and writes back what it says.
func takeTokensTx(ctx context.Context, tx *stmtTx, takes []store.Take, now time.Time) (bs []store.Bucket, limited bool, err error) {
	levels := make([]store.BucketLevel, len(takes))
	for i, t := range takes {
		var (
			tokens  float64
			updated int64
		)
		err := tx.QueryRowContext(ctx, `SELECT tokens, updated_at FROM buckets WHERE key = ?`, t.Key).Scan(&tokens, &updated)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, false, err
		default:
			levels[i] = store.BucketLevel{Found: true, Tokens: tokens, At: fromMS(updated)}
		}
	}
	writes, bs, limited, err := store.Takes(takes, levels, now)
	if err != nil {
		return nil, false, err
	}
	for i, w := range writes {
		if !w.Write {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO buckets (key, tokens, updated_at, full_at)
			VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET
				tokens = excluded.tokens, updated_at = excluded.updated_at, full_at = excluded.full_at`,
			takes[i].Key, w.Tokens, w.At.UnixMilli(), w.FullAt.UnixMilli()); err != nil {
			return nil, false, err
		}
	}
	return bs, limited, nil
}
