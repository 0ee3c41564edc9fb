package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/store"
)

// Signing keys: each algorithm has at most one current key (the partial
// unique index signing_keys_current); every change of an algorithm's keys
// holds that algorithm's advisory lock, so that replicas ensuring or
// rotating at the same moment agree on one key.

const signingKeyColumns = `kid, algorithm, private_pem, created_at, rotated_at, published_until`

func scanSigningKey(row pgx.Row) (store.SigningKey, error) {
	var k store.SigningKey
	err := row.Scan(&k.KID, &k.Algorithm, &k.PrivatePEM, at(&k.CreatedAt), at(&k.RotatedAt), at(&k.PublishedUntil))
	return k, err
}

// currentKeyTx returns the current key of algorithm, and false when it has
// none.
func currentKeyTx(ctx context.Context, tx pgx.Tx, algorithm string) (store.SigningKey, bool, error) {
	k, err := scanSigningKey(tx.QueryRow(ctx, `SELECT `+signingKeyColumns+`
		FROM signing_keys WHERE algorithm = $1 AND is_current`, algorithm))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.SigningKey{}, false, nil
	}
	return k, err == nil, err
}

func insertCurrentKeyTx(ctx context.Context, tx pgx.Tx, k store.SigningKey) error {
	_, err := tx.Exec(ctx, `INSERT INTO signing_keys (kid, algorithm, private_pem, created_at, is_current)
		VALUES ($1, $2, $3, $4, true)`, k.KID, k.Algorithm, k.PrivatePEM, ts(k.CreatedAt))
	return duplicate(err, "signing key %q", k.KID)
}

// EnsureSigningKey stores candidate as the current key of
// candidate.Algorithm unless that algorithm has a current key, and returns
// the current key of that algorithm. Concurrent callers all get the same
// key.
func (s *Store) EnsureSigningKey(ctx context.Context, candidate store.SigningKey) (store.SigningKey, error) {
	var k store.SigningKey
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := lock(ctx, tx, lockName("signing-key", candidate.Algorithm)); err != nil {
			return err
		}
		cur, ok, err := currentKeyTx(ctx, tx, candidate.Algorithm)
		if err != nil || ok {
			k = cur
			return err
		}
		if err := insertCurrentKeyTx(ctx, tx, candidate); err != nil {
			return err
		}
		k = candidate
		k.CreatedAt = time.UnixMilli(candidate.CreatedAt.UnixMilli()).UTC()
		k.RotatedAt, k.PublishedUntil = time.Time{}, time.Time{}
		return nil
	})
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("postgres: ensure signing key: %w", err)
	}
	return k, nil
}

// RotateSigningKey makes next the current key of next.Algorithm, in one
// transaction: the key it replaces gets RotatedAt = next.CreatedAt and
// PublishedUntil = publishUntil (it stays in SigningKeys until then). With
// replaces set, the rotation happens only if replaces is the current key of
// that algorithm; otherwise nothing changes and the error is
// store.ErrKeyChanged, so that of replicas rotating the same key at once
// exactly one does. It returns the replaced key (the zero key when the
// algorithm had none).
func (s *Store) RotateSigningKey(ctx context.Context, next store.SigningKey, replaces string, publishUntil time.Time) (store.SigningKey, error) {
	var old store.SigningKey
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		old = store.SigningKey{}
		if err := lock(ctx, tx, lockName("signing-key", next.Algorithm)); err != nil {
			return err
		}
		cur, ok, err := currentKeyTx(ctx, tx, next.Algorithm)
		if err != nil {
			return err
		}
		if replaces != "" && (!ok || cur.KID != replaces) {
			return store.ErrKeyChanged
		}
		if ok {
			old, err = scanSigningKey(tx.QueryRow(ctx, `UPDATE signing_keys
				SET is_current = false, rotated_at = $2, published_until = $3
				WHERE kid = $1 RETURNING `+signingKeyColumns, cur.KID, ts(next.CreatedAt), ts(publishUntil)))
			if err != nil {
				return err
			}
		}
		return insertCurrentKeyTx(ctx, tx, next)
	})
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("postgres: rotate signing key: %w", err)
	}
	return old, nil
}

// SigningKeys returns the current key of each algorithm and every rotated
// key whose PublishedUntil is after now, newest first by CreatedAt.
func (s *Store) SigningKeys(ctx context.Context, now time.Time) ([]store.SigningKey, error) {
	var keys []store.SigningKey
	err := s.query(ctx, func(ctx context.Context, q querier) error {
		keys = nil
		rows, err := q.Query(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys
			WHERE is_current OR published_until > $1
			ORDER BY created_at DESC, is_current DESC, kid`, ts(now))
		if err != nil {
			return err
		}
		for rows.Next() {
			k, err := scanSigningKey(rows)
			if err != nil {
				rows.Close()
				return err
			}
			keys = append(keys, k)
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: signing keys: %w", err)
	}
	return keys, nil
}
