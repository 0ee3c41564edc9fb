package sqlite

import (
	"context"
	"fmt"

	"github.com/sesame-id/sesame/internal/store"
)

const eventColumns = `id, type, description, client_id, connection, identifier, ip, user_id, created_at`

// AddEvent appends a tenant log event. A duplicate ID fails with
// store.ErrAlreadyExists.
func (s *Store) AddEvent(ctx context.Context, e store.Event) error {
	err := s.write(ctx, func(tx *stmtTx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO events (`+eventColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.Type, e.Description, e.ClientID, e.Connection, e.Identifier, e.IP, e.UserID, ms(e.CreatedAt))
		return duplicate(err, "event %q", e.ID)
	})
	if err != nil {
		return fmt.Errorf("sqlite: add event: %w", err)
	}
	return nil
}

// Events returns at most limit events, newest first; events created at the
// same millisecond come latest-added first. A limit <= 0 returns none.
func (s *Store) Events(ctx context.Context, limit int) ([]store.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+eventColumns+` FROM events
		ORDER BY created_at DESC, seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", err)
	}
	var events []store.Event
	for rows.Next() {
		var (
			e       store.Event
			created int64
		)
		if err := rows.Scan(&e.ID, &e.Type, &e.Description, &e.ClientID, &e.Connection,
			&e.Identifier, &e.IP, &e.UserID, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: events: %w", err)
		}
		e.CreatedAt = fromMS(created)
		events = append(events, e)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", err)
	}
	return events, nil
}
