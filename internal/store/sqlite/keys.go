package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// signingKeyColumns are the columns scanSigningKey reads, in its order.
const signingKeyColumns = `kid, algorithm, private_pem, created_at, rotated_at, published_until`

func scanSigningKey(row interface{ Scan(...any) error }) (store.SigningKey, error) {
	var k store.SigningKey
	var created, rotated, until int64
	if err := row.Scan(&k.KID, &k.Algorithm, &k.PrivatePEM, &created, &rotated, &until); err != nil {
		return store.SigningKey{}, err
	}
	k.CreatedAt, k.RotatedAt, k.PublishedUntil = fromMS(created), fromMS(rotated), fromMS(until)
	return k, nil
}

// currentSigningKey reads the current key of alg inside tx; sql.ErrNoRows
// when the algorithm has none.
func currentSigningKey(ctx context.Context, tx *stmtTx, alg string) (store.SigningKey, error) {
	return scanSigningKey(tx.QueryRowContext(ctx, `SELECT `+signingKeyColumns+`
		FROM signing_keys WHERE algorithm = ? AND rotated_at = 0`, alg))
}

// insertCurrentKey stores k as the current key of its algorithm and returns
// it as it was stored (a current key has no rotation times).
func insertCurrentKey(ctx context.Context, tx *stmtTx, k store.SigningKey) (store.SigningKey, error) {
	if k.KID == "" || k.Algorithm == "" || len(k.PrivatePEM) == 0 {
		return store.SigningKey{}, errors.New("signing key without kid, algorithm or key")
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`) VALUES (?, ?, ?, ?, 0, 0)`,
		k.KID, k.Algorithm, k.PrivatePEM, ms(k.CreatedAt))
	if err != nil {
		return store.SigningKey{}, duplicate(err, "signing key %q", k.KID)
	}
	k.CreatedAt = fromMS(ms(k.CreatedAt))
	k.RotatedAt, k.PublishedUntil = time.Time{}, time.Time{}
	return k, nil
}

// EnsureSigningKey stores candidate as the current key of its algorithm
// unless that algorithm has one, and returns the current key. The writer's
// immediate transaction makes concurrent callers (on any process) agree.
func (s *Store) EnsureSigningKey(ctx context.Context, candidate store.SigningKey) (store.SigningKey, error) {
	var k store.SigningKey
	err := s.write(ctx, func(tx *stmtTx) error {
		var err error
		k, err = currentSigningKey(ctx, tx, candidate.Algorithm)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		k, err = insertCurrentKey(ctx, tx, candidate)
		return err
	})
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("sqlite: ensure signing key: %w", err)
	}
	return k, nil
}

// RotateSigningKey makes next the current key of its algorithm in one
// immediate transaction; with replaces set, only when replaces is the
// current key (store.ErrKeyChanged otherwise, and nothing changes).
func (s *Store) RotateSigningKey(ctx context.Context, next store.SigningKey, replaces string, publishUntil time.Time) (store.SigningKey, error) {
	var old store.SigningKey
	err := s.write(ctx, func(tx *stmtTx) error {
		cur, err := currentSigningKey(ctx, tx, next.Algorithm)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			cur = store.SigningKey{}
		case err != nil:
			return err
		}
		if replaces != "" && cur.KID != replaces {
			return store.ErrKeyChanged
		}
		if cur.KID != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET rotated_at = ?, published_until = ? WHERE kid = ?`,
				ms(next.CreatedAt), ms(publishUntil), cur.KID); err != nil {
				return err
			}
			cur.RotatedAt, cur.PublishedUntil = fromMS(ms(next.CreatedAt)), fromMS(ms(publishUntil))
		}
		if _, err := insertCurrentKey(ctx, tx, next); err != nil {
			return err
		}
		old = cur
		return nil
	})
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("sqlite: rotate signing key: %w", err)
	}
	return old, nil
}

// SigningKeys returns the current key of each algorithm and the rotated keys
// still published at now, newest first.
func (s *Store) SigningKeys(ctx context.Context, now time.Time) ([]store.SigningKey, error) {
	var keys []store.SigningKey
	err := s.read(ctx, func(tx *stmtTx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys
			WHERE rotated_at = 0 OR published_until > ?
			ORDER BY created_at DESC, rotated_at = 0 DESC, kid`, ms(now))
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
		return nil, fmt.Errorf("sqlite: signing keys: %w", err)
	}
	return keys, nil
}
