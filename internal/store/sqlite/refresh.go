package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

const refreshColumns = `id, hash, family_id, client_id, user_id, scope, audience,
	created_at, expires_at, rotated_at, revoked_at`

func scanRefresh(row interface{ Scan(...any) error }) (store.RefreshToken, error) {
	var t store.RefreshToken
	var created, expires, rotated, revoked int64
	err := row.Scan(&t.ID, &t.Hash, &t.FamilyID, &t.ClientID, &t.UserID, &t.Scope, &t.Audience,
		&created, &expires, &rotated, &revoked)
	t.CreatedAt, t.ExpiresAt = fromMS(created), fromMS(expires)
	t.RotatedAt, t.RevokedAt = fromMS(rotated), fromMS(revoked)
	return t, err
}

func insertRefresh(ctx context.Context, tx *stmtTx, t *store.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (`+refreshColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Hash, t.FamilyID, t.ClientID, t.UserID, t.Scope, t.Audience,
		ms(t.CreatedAt), ms(t.ExpiresAt), ms(t.RotatedAt), ms(t.RevokedAt))
	return duplicate(err, "refresh token %q", t.ID)
}

// CreateRefreshToken stores a new refresh token. An empty FamilyID starts a
// family named after the token's ID. A duplicate ID or hash fails with
// store.ErrAlreadyExists.
func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	if t.FamilyID == "" {
		t.FamilyID = t.ID
	}
	err := s.write(ctx, func(tx *stmtTx) error { return insertRefresh(ctx, tx, &t) })
	if err != nil {
		return fmt.Errorf("sqlite: create refresh token: %w", err)
	}
	return nil
}

// UseRefreshToken looks up the token by hash at now, in one transaction:
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
		return store.RefreshToken{}, errors.New("sqlite: use refresh token: rotate without a next token")
	}
	var (
		tok     store.RefreshToken
		outcome error
	)
	err := s.write(ctx, func(tx *stmtTx) error {
		var err error
		tok, err = scanRefresh(tx.QueryRowContext(ctx, `SELECT `+refreshColumns+`
			FROM refresh_tokens WHERE hash = ?`, hash))
		if errors.Is(err, sql.ErrNoRows) {
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
			if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET rotated_at = ? WHERE id = ?`,
				ms(now), tok.ID); err != nil {
				return err
			}
			tok.RotatedAt = fromMS(ms(now))
		}
		n := *next
		n.FamilyID = tok.FamilyID
		n.RotatedAt, n.RevokedAt = time.Time{}, time.Time{}
		return insertRefresh(ctx, tx, &n)
	})
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("sqlite: use refresh token: %w", err)
	}
	if outcome != nil {
		return store.RefreshToken{}, outcome
	}
	return tok, nil
}

// RefreshToken returns the token with hash whatever its state, or
// store.ErrNotFound.
func (s *Store) RefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	t, err := scanRefresh(s.r.QueryRowContext(ctx, `SELECT `+refreshColumns+`
		FROM refresh_tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("sqlite: refresh token: %w", err)
	}
	return t, nil
}

func revokeFamily(ctx context.Context, tx *stmtTx, family string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ?
		WHERE family_id = ? AND revoked_at = 0`, ms(now), family)
	return err
}

// RevokeRefreshToken revokes the family of the token with hash when the token
// belongs to clientID; an unknown token or another client's gives
// store.ErrNotFound. Revoking a revoked family again is not an error.
func (s *Store) RevokeRefreshToken(ctx context.Context, hash []byte, clientID string, now time.Time) error {
	err := s.write(ctx, func(tx *stmtTx) error {
		var family, owner string
		err := tx.QueryRowContext(ctx, `SELECT family_id, client_id FROM refresh_tokens WHERE hash = ?`, hash).
			Scan(&family, &owner)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != clientID) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		return revokeFamily(ctx, tx, family, now)
	})
	if err != nil {
		return fmt.Errorf("sqlite: revoke refresh token: %w", err)
	}
	return nil
}

// RevokeRefreshFamily revokes, at now, every token of familyID that is not
// revoked yet (earlier revocation times are kept). A family without tokens is
// not an error.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error {
	if ms(now) == 0 {
		// 0 is how "not revoked" is stored: revoking at it would revoke nothing.
		return errors.New("sqlite: revoke refresh family: no time given")
	}
	err := s.write(ctx, func(tx *stmtTx) error { return revokeFamily(ctx, tx, familyID, now) })
	if err != nil {
		return fmt.Errorf("sqlite: revoke refresh family: %w", err)
	}
	return nil
}
