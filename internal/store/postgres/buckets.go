package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/store"
)

// TakeTokens takes one token from each bucket in one transaction, all or
// nothing; see store.Store and store.Takes, which holds the rule.
func (s *Store) TakeTokens(ctx context.Context, takes []store.Take, now time.Time) ([]store.Bucket, error) {
	var (
		bs      []store.Bucket
		limited bool
	)
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		bs, limited, err = takeTokensTx(ctx, tx, takes, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: take tokens: %w", err)
	}
	if limited {
		return bs, store.ErrRateLimited
	}
	return bs, nil
}

// takeTokensTx is TakeTokens inside tx: it locks the buckets (their advisory
// locks, in key order, since a bucket without a row has no row to lock),
// reads their levels, lets store.Takes decide, and writes back what it says.
func takeTokensTx(ctx context.Context, tx pgx.Tx, takes []store.Take, now time.Time) (bs []store.Bucket, limited bool, err error) {
	keys := make([]string, 0, len(takes))
	for _, t := range takes {
		keys = append(keys, t.Key)
	}
	sort.Strings(keys)
	names := make([]string, 0, len(keys))
	for i, k := range keys {
		if i == 0 || k != keys[i-1] {
			names = append(names, lockName("bucket", k))
		}
	}
	if err := lock(ctx, tx, names...); err != nil {
		return nil, false, err
	}
	levels := make([]store.BucketLevel, len(takes))
	for i, t := range takes {
		var (
			tokens  float64
			updated time.Time
		)
		err := tx.QueryRow(ctx, `SELECT tokens, updated_at FROM buckets WHERE key = $1`, t.Key).Scan(&tokens, at(&updated))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return nil, false, err
		default:
			levels[i] = store.BucketLevel{Found: true, Tokens: tokens, At: updated}
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
		if _, err := tx.Exec(ctx, `INSERT INTO buckets (key, tokens, updated_at, full_at)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (key) DO UPDATE SET
				tokens = excluded.tokens, updated_at = excluded.updated_at, full_at = excluded.full_at`,
			takes[i].Key, w.Tokens, ts(w.At), ts(w.FullAt)); err != nil {
			return nil, false, err
		}
	}
	return bs, limited, nil
}
