package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

const authCodeColumns = `id, hash, client_id, user_id, redirect_uri, scope, audience, nonce,
	code_challenge, code_challenge_method, session_id, auth_time, created_at, expires_at, used_at`

func scanAuthCode(row interface{ Scan(...any) error }) (store.AuthCode, error) {
	var c store.AuthCode
	var authTime, created, expires, used int64
	err := row.Scan(&c.ID, &c.Hash, &c.ClientID, &c.UserID, &c.RedirectURI, &c.Scope, &c.Audience, &c.Nonce,
		&c.CodeChallenge, &c.CodeChallengeMethod, &c.SessionID, &authTime, &created, &expires, &used)
	c.AuthTime, c.CreatedAt = fromMS(authTime), fromMS(created)
	c.ExpiresAt, c.UsedAt = fromMS(expires), fromMS(used)
	return c, err
}

// CreateAuthCode stores an authorization code. A duplicate ID or hash fails
// with store.ErrAlreadyExists. A code with a zero ExpiresAt is stored but can
// never be redeemed.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	err := s.write(ctx, func(tx *stmtTx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO auth_codes (`+authCodeColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Hash, c.ClientID, c.UserID, c.RedirectURI, c.Scope, c.Audience, c.Nonce,
			c.CodeChallenge, c.CodeChallengeMethod, c.SessionID,
			ms(c.AuthTime), ms(c.CreatedAt), ms(c.ExpiresAt), ms(c.UsedAt))
		return duplicate(err, "authorization code %q", c.ID)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create authorization code: %w", err)
	}
	return nil
}

// RedeemAuthCode marks the code with hash used at now, in one immediate
// transaction, so that exactly one of many concurrent redemptions (on any
// replica) wins. The outcomes, in order of precedence:
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
	used := ms(now)
	if used == 0 {
		// 0 is how "unused" is stored: redeeming at it would leave the code
		// redeemable.
		return store.AuthCode{}, errors.New("sqlite: redeem authorization code: no time given")
	}
	var (
		c       store.AuthCode
		outcome error
	)
	err := s.write(ctx, func(tx *stmtTx) error {
		var err error
		c, err = scanAuthCode(tx.QueryRowContext(ctx, `SELECT `+authCodeColumns+`
			FROM auth_codes WHERE hash = ?`, hash))
		if errors.Is(err, sql.ErrNoRows) {
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
		if _, err := tx.ExecContext(ctx, `UPDATE auth_codes SET used_at = ? WHERE id = ?`, used, c.ID); err != nil {
			return err
		}
		c.UsedAt = fromMS(used)
		return nil
	})
	if err != nil {
		return store.AuthCode{}, fmt.Errorf("sqlite: redeem authorization code: %w", err)
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
