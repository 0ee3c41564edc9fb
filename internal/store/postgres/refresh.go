package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/store"
)

const refreshColumns = `id, hash, family_id, client_id, user_id, scope, audience,
	created_at, expires_at, rotated_at, revoked_at`

func scanRefresh(row pgx.Row) (store.RefreshToken, error) {
	var t store.RefreshToken
	err := row.Scan(&t.ID, &t.Hash, &t.FamilyID, &t.ClientID, &t.UserID, &t.Scope, &t.Audience,
		at(&t.CreatedAt), at(&t.ExpiresAt), at(&t.RotatedAt), at(&t.RevokedAt))
	return t, err
}

func insertRefresh(ctx context.Context, tx pgx.Tx, t *store.RefreshToken) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (`+refreshColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		t.ID, t.Hash, t.FamilyID, t.ClientID, t.UserID, t.Scope, t.Audience,
		ts(t.CreatedAt), ts(t.ExpiresAt), ts(t.RotatedAt), ts(t.RevokedAt))
	return duplicate(err, "refresh token %q", t.ID)
}

// familyLock is the advisory lock that serializes every change to one
// refresh token family: a rotation, the revocation that reuse brings, an
// explicit revocation. Two of them locking each other's rows in turn could
// otherwise deadlock.
func familyLock(family string) string { return lockName("refresh-family", family) }

// lockFamilyOf takes the family lock of the token with hash and reports
// false for an unknown token. A token's family never changes, so reading it
// before the lock is safe.
func lockFamilyOf(ctx context.Context, tx pgx.Tx, hash []byte) (bool, error) {
	var family string
	err := tx.QueryRow(ctx, `SELECT family_id FROM refresh_tokens WHERE hash = $1`, hash).Scan(&family)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, lock(ctx, tx, familyLock(family))
}

// CreateRefreshToken stores a new refresh token. An empty FamilyID starts a
// family named after the token's ID. A duplicate ID or hash fails with
// store.ErrAlreadyExists.
func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	if t.FamilyID == "" {
		t.FamilyID = t.ID
	}
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error { return insertRefresh(ctx, tx, &t) })
	if err != nil {
		return fmt.Errorf("postgres: create refresh token: %w", err)
	}
	return nil
}

// UseRefreshToken looks up the token by hash at now, in one transaction that
// holds its family's lock:
//
//	unknown, or expired (now >= ExpiresAt)  -> store.ErrNotFound
//	revoked                                -> store.ErrTokenRevoked
//	rotated, now >= RotatedAt+leeway       -> store.ErrTokenReused, and the
//	                                          whole family is revoked
//	rotated, within leeway                 -> accepted like a current token
//	current, rotate false                  -> returned, nothing changes
//	current (or within leeway), rotate     -> marked rotated (the first
//	                                          rotation time is kept) and next
//	                                          is stored in its family
//
// Reuse detection applies whatever rotate says: a rotated token stays rotated.
// next (required with rotate) is stored in the presented token's family,
// whatever its FamilyID says. The token is returned as stored after the call.
func (s *Store) UseRefreshToken(ctx context.Context, hash []byte, now time.Time, rotate bool, leeway time.Duration, next *store.RefreshToken) (store.RefreshToken, error) {
	if rotate && next == nil {
		return store.RefreshToken{}, errors.New("postgres: use refresh token: rotate without a next token")
	}
	var (
		tok     store.RefreshToken
		outcome error
	)
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tok, outcome = store.RefreshToken{}, nil
		found, err := lockFamilyOf(ctx, tx, hash)
		if err != nil {
			return err
		}
		if found {
			tok, err = scanRefresh(tx.QueryRow(ctx, `SELECT `+refreshColumns+`
				FROM refresh_tokens WHERE hash = $1`, hash))
		}
		if !found || errors.Is(err, pgx.ErrNoRows) {
			outcome = store.ErrNotFound
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case !tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt):
			outcome = store.ErrNotFound
			return nil
		case !tok.RevokedAt.IsZero():
			outcome = store.ErrTokenRevoked
			return nil
		case !tok.RotatedAt.IsZero() && !now.Before(tok.RotatedAt.Add(leeway)):
			if err := revokeFamily(ctx, tx, tok.FamilyID, now); err != nil {
				return err
			}
			outcome = store.ErrTokenReused
			return nil
		}
		if !rotate {
			return nil
		}
		if tok.RotatedAt.IsZero() {
			if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET rotated_at = $1 WHERE id = $2`,
				ts(now), tok.ID); err != nil {
				return err
			}
			tok.RotatedAt = time.UnixMilli(now.UnixMilli()).UTC()
		}
		n := *next
		n.FamilyID = tok.FamilyID
		n.RotatedAt, n.RevokedAt = time.Time{}, time.Time{}
		return insertRefresh(ctx, tx, &n)
	})
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("postgres: use refresh token: %w", err)
	}
	if outcome != nil {
		return store.RefreshToken{}, outcome
	}
	return tok, nil
}

// RefreshToken returns the token with hash whatever its state, or
// store.ErrNotFound.
func (s *Store) RefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	var t store.RefreshToken
	err := s.query(ctx, func(ctx context.Context, q querier) error {
		var err error
		t, err = scanRefresh(q.QueryRow(ctx, `SELECT `+refreshColumns+`
			FROM refresh_tokens WHERE hash = $1`, hash))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("postgres: refresh token: %w", err)
	}
	return t, nil
}

// revokeFamily revokes the family's tokens that are not revoked yet; the
// caller holds the family lock.
func revokeFamily(ctx context.Context, tx pgx.Tx, family string, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $1
		WHERE family_id = $2 AND revoked_at IS NULL`, ts(now), family)
	return err
}

// RevokeRefreshToken revokes the family of the token with hash when the token
// belongs to clientID; an unknown token or another client's gives
// store.ErrNotFound. Revoking a revoked family again is not an error.
func (s *Store) RevokeRefreshToken(ctx context.Context, hash []byte, clientID string, now time.Time) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		found, err := lockFamilyOf(ctx, tx, hash)
		if err != nil {
			return err
		}
		var family, owner string
		if found {
			err = tx.QueryRow(ctx, `SELECT family_id, client_id FROM refresh_tokens WHERE hash = $1`, hash).
				Scan(&family, &owner)
		}
		if !found || errors.Is(err, pgx.ErrNoRows) || (err == nil && owner != clientID) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		return revokeFamily(ctx, tx, family, now)
	})
	if err != nil {
		return fmt.Errorf("postgres: revoke refresh token: %w", err)
	}
	return nil
}

// RevokeRefreshFamily revokes, at now, every token of familyID that is not
// revoked yet (earlier revocation times are kept). A family without tokens is
// not an error.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error {
	if now.IsZero() {
		// NULL is how "not revoked" is stored: revoking at it would revoke nothing.
		return errors.New("postgres: revoke refresh family: no time given")
	}
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := lock(ctx, tx, familyLock(familyID)); err != nil {
			return err
		}
		return revokeFamily(ctx, tx, familyID, now)
	})
	if err != nil {
		return fmt.Errorf("postgres: revoke refresh family: %w", err)
	}
	return nil
}
