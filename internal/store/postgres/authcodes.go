package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/store"
)

const authCodeColumns = `id, hash, client_id, user_id, redirect_uri, scope, audience, nonce,
	code_challenge, code_challenge_method, session_id, auth_time, created_at, expires_at, used_at`

func scanAuthCode(row pgx.Row) (store.AuthCode, error) {
	var c store.AuthCode
	err := row.Scan(&c.ID, &c.Hash, &c.ClientID, &c.UserID, &c.RedirectURI, &c.Scope, &c.Audience, &c.Nonce,
		&c.CodeChallenge, &c.CodeChallengeMethod, &c.SessionID,
		at(&c.AuthTime), at(&c.CreatedAt), at(&c.ExpiresAt), at(&c.UsedAt))
	return c, err
}

// CreateAuthCode stores an authorization code. A duplicate ID or hash fails
// with store.ErrAlreadyExists.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO auth_codes (`+authCodeColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			c.ID, c.Hash, c.ClientID, c.UserID, c.RedirectURI, c.Scope, c.Audience, c.Nonce,
			c.CodeChallenge, c.CodeChallengeMethod, c.SessionID,
			ts(c.AuthTime), ts(c.CreatedAt), ts(c.ExpiresAt), ts(c.UsedAt))
		return duplicate(err, "authorization code %q", c.ID)
	})
	if err != nil {
		return fmt.Errorf("postgres: create authorization code: %w", err)
	}
	return nil
}

// RedeemAuthCode marks the code with hash used at now, in one transaction
// that holds the code's row lock (SELECT … FOR UPDATE), so that exactly one
// of many concurrent redemptions (on any replica) wins. The outcomes, in
// order of precedence:
//
//	unknown hash                     -> store.ErrNotFound
//	used before                      -> the stored record, store.ErrCodeStale
//	expired (now >= ExpiresAt)       -> store.ErrCodeExpired, left unused
//	otherwise                        -> marked used; the record with UsedAt
//
// Reuse wins over expiry: a used code presented again after its short life is
// still reported as reuse, so that the caller revokes what the first
// redemption issued.
func (s *Store) RedeemAuthCode(ctx context.Context, hash []byte, now time.Time) (store.AuthCode, error) {
	if now.IsZero() {
		// NULL is how "unused" is stored: redeeming at it would leave the
		// code redeemable.
		return store.AuthCode{}, errors.New("postgres: redeem authorization code: no time given")
	}
	var (
		c       store.AuthCode
		outcome error
	)
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		outcome = nil
		var err error
		c, err = scanAuthCode(tx.QueryRow(ctx, `SELECT `+authCodeColumns+`
			FROM auth_codes WHERE hash = $1 FOR UPDATE`, hash))
		if errors.Is(err, pgx.ErrNoRows) {
			outcome = store.ErrNotFound
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case !c.UsedAt.IsZero():
			outcome = store.ErrCodeStale
			return nil
		case !now.Before(c.ExpiresAt):
			outcome = store.ErrCodeExpired
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE auth_codes SET used_at = $1 WHERE id = $2`, ts(now), c.ID); err != nil {
			return err
		}
		c.UsedAt = time.UnixMilli(now.UnixMilli()).UTC()
		return nil
	})
	if err != nil {
		return store.AuthCode{}, fmt.Errorf("postgres: redeem authorization code: %w", err)
	}
	switch outcome {
	case nil:
		return c, nil
	case store.ErrCodeStale:
		return c, outcome
	default:
		return store.AuthCode{}, outcome
	}
}
