package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/store"
)

const eventColumns = `id, type, description, client_id, connection, identifier, ip, user_id, created_at`

// AddEvent appends a tenant log event. A duplicate ID fails with
// store.ErrAlreadyExists.
func (s *Store) AddEvent(ctx context.Context, e store.Event) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO events (`+eventColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			e.ID, e.Type, text(e.Description), text(e.ClientID), e.Connection, e.Identifier, e.IP, e.UserID, ts(e.CreatedAt))
		return duplicate(err, "event %q", e.ID)
	})
	if err != nil {
		return fmt.Errorf("postgres: add event: %w", err)
	}
	return nil
}

// Events returns at most limit events, newest first; events created at the
// same millisecond come latest-added first. A limit <= 0 returns none.
func (s *Store) Events(ctx context.Context, limit int) ([]store.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	var events []store.Event
	err := s.query(ctx, func(ctx context.Context, q querier) error {
		events = nil
		rows, err := q.Query(ctx, `SELECT `+eventColumns+` FROM events
			ORDER BY created_at DESC, seq DESC LIMIT $1`, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				e                     store.Event
				description, clientID []byte
			)
			if err := rows.Scan(&e.ID, &e.Type, &description, &clientID, &e.Connection,
				&e.Identifier, &e.IP, &e.UserID, at(&e.CreatedAt)); err != nil {
				rows.Close()
				return err
			}
			e.Description, e.ClientID = string(description), string(clientID)
			events = append(events, e)
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: events: %w", err)
	}
	return events, nil
}
