package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/store"
)

const ticketColumns = `id, hash, verifier_hash, client_id, user_id, created_at, expires_at`

// CreateLoginTicket stores a login ticket. A duplicate ID or hash fails with
// store.ErrAlreadyExists.
func (s *Store) CreateLoginTicket(ctx context.Context, t store.LoginTicket) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO login_tickets (`+ticketColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			t.ID, t.Hash, t.VerifierHash, t.ClientID, t.UserID, ts(t.CreatedAt), ts(t.ExpiresAt))
		return duplicate(err, "login ticket %q", t.ID)
	})
	if err != nil {
		return fmt.Errorf("postgres: create login ticket: %w", err)
	}
	return nil
}

// RedeemLoginTicket deletes the ticket with hash and returns it, in one
// DELETE … RETURNING: the row lock it takes makes every concurrent
// redemption (on any replica) wait, and find the row gone, so exactly one
// gets it. An unknown or redeemed ticket is store.ErrNotFound; an expired
// one is deleted and store.ErrCodeExpired.
func (s *Store) RedeemLoginTicket(ctx context.Context, hash []byte, now time.Time) (store.LoginTicket, error) {
	var t store.LoginTicket
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `DELETE FROM login_tickets WHERE hash = $1 RETURNING `+ticketColumns, hash).
			Scan(&t.ID, &t.Hash, &t.VerifierHash, &t.ClientID, &t.UserID, at(&t.CreatedAt), at(&t.ExpiresAt))
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return store.LoginTicket{}, store.ErrNotFound
	}
	if err != nil {
		return store.LoginTicket{}, fmt.Errorf("postgres: redeem login ticket: %w", err)
	}
	if !now.Before(t.ExpiresAt) {
		return store.LoginTicket{}, store.ErrCodeExpired
	}
	return t, nil
}
