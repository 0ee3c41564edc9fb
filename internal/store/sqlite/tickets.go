package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

const ticketColumns = `id, hash, verifier_hash, client_id, user_id, created_at, expires_at`

// CreateLoginTicket stores a login ticket. A duplicate ID or hash fails with
// store.ErrAlreadyExists.
func (s *Store) CreateLoginTicket(ctx context.Context, t store.LoginTicket) error {
	err := s.write(ctx, func(tx *stmtTx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO login_tickets (`+ticketColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Hash, t.VerifierHash, t.ClientID, t.UserID, ms(t.CreatedAt), ms(t.ExpiresAt))
		return duplicate(err, "login ticket %q", t.ID)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create login ticket: %w", err)
	}
	return nil
}

// RedeemLoginTicket deletes the ticket with hash and returns it, in one
// statement of the single writer, so that exactly one of many concurrent
// redemptions (on any process) gets it. An unknown or redeemed ticket is
// store.ErrNotFound; an expired one is deleted and store.ErrCodeExpired.
func (s *Store) RedeemLoginTicket(ctx context.Context, hash []byte, now time.Time) (store.LoginTicket, error) {
	var (
		t                store.LoginTicket
		created, expires int64
	)
	err := s.write(ctx, func(tx *stmtTx) error {
		return tx.QueryRowContext(ctx, `DELETE FROM login_tickets WHERE hash = ? RETURNING `+ticketColumns, hash).
			Scan(&t.ID, &t.Hash, &t.VerifierHash, &t.ClientID, &t.UserID, &created, &expires)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.LoginTicket{}, store.ErrNotFound
	}
	if err != nil {
		return store.LoginTicket{}, fmt.Errorf("sqlite: redeem login ticket: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = fromMS(created), fromMS(expires)
	if !now.Before(t.ExpiresAt) {
		return store.LoginTicket{}, store.ErrCodeExpired
	}
	return t, nil
}
