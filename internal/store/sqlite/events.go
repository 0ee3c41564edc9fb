package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/sesame-id/sesame/internal/store"
)

const eventColumns = `id, type, description, client_id, client_name, connection, connection_id,
	user_id, identifier, ip, user_agent, details, created_at`

const insertEvent = `INSERT INTO events (` + eventColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// addEventsTx appends events inside a transaction that is already open.
func addEventsTx(ctx context.Context, tx *stmtTx, events []store.Event) error {
	for _, e := range events {
		_, err := tx.ExecContext(ctx, insertEvent,
			e.ID, e.Type, e.Description, e.ClientID, e.ClientName, e.Connection, e.ConnectionID,
			e.UserID, e.Identifier, e.IP, e.UserAgent, nullBytes(e.Details), ms(e.CreatedAt))
		if err != nil {
			return duplicate(err, "event %q", e.ID)
		}
	}
	return nil
}

// AddEvents appends tenant log events in one transaction. A duplicate ID
// fails with store.ErrAlreadyExists.
func (s *Store) AddEvents(ctx context.Context, events ...store.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := s.write(ctx, func(tx *stmtTx) error { return addEventsTx(ctx, tx, events) }); err != nil {
		return fmt.Errorf("sqlite: add events: %w", err)
	}
	return nil
}

// Events returns the events q selects; see store.EventQuery.
func (s *Store) Events(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	var (
		where []string
		args  []any
	)
	if len(q.Types) > 0 {
		where = append(where, `type IN (?`+strings.Repeat(`, ?`, len(q.Types)-1)+`)`)
		for _, t := range q.Types {
			args = append(args, t)
		}
	}
	if q.UserID != "" {
		where, args = append(where, `user_id = ?`), append(args, q.UserID)
	}
	if q.ClientID != "" {
		where, args = append(where, `client_id = ?`), append(args, q.ClientID)
	}
	if !q.Since.IsZero() {
		where, args = append(where, `created_at >= ?`), append(args, q.Since.UnixMilli())
	}
	if !q.Until.IsZero() {
		where, args = append(where, `created_at < ?`), append(args, q.Until.UnixMilli())
	}
	filter := ""
	if len(where) > 0 {
		filter = ` WHERE ` + strings.Join(where, ` AND `)
	}

	var page store.EventPage
	if q.IncludeTotal && q.After == "" {
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM events`+filter, args...).Scan(&page.Total); err != nil {
			return store.EventPage{}, fmt.Errorf("sqlite: count events: %w", err)
		}
	}
	query := `SELECT ` + eventColumns + ` FROM events` + filter
	switch {
	case q.After != "":
		if filter == "" {
			query += ` WHERE id > ?`
		} else {
			query += ` AND id > ?`
		}
		args = append(args, q.After)
		query += ` ORDER BY id LIMIT ?`
		args = append(args, q.Limit())
	case q.Ascending:
		query += ` ORDER BY created_at, id LIMIT ? OFFSET ?`
		args = append(args, q.Limit(), q.Offset())
	default:
		query += ` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`
		args = append(args, q.Limit(), q.Offset())
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return store.EventPage{}, fmt.Errorf("sqlite: events: %w", err)
	}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			rows.Close()
			return store.EventPage{}, fmt.Errorf("sqlite: events: %w", err)
		}
		page.Events = append(page.Events, e)
	}
	if err := closeRows(rows); err != nil {
		return store.EventPage{}, fmt.Errorf("sqlite: events: %w", err)
	}
	return page, nil
}

// Event returns the event with this ID, or store.ErrNotFound.
func (s *Store) Event(ctx context.Context, id string) (store.Event, error) {
	e, err := scanEvent(s.r.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Event{}, fmt.Errorf("sqlite: event %q: %w", id, err)
	}
	return e, nil
}

func scanEvent(row interface{ Scan(...any) error }) (store.Event, error) {
	var (
		e       store.Event
		created int64
	)
	err := row.Scan(&e.ID, &e.Type, &e.Description, &e.ClientID, &e.ClientName, &e.Connection, &e.ConnectionID,
		&e.UserID, &e.Identifier, &e.IP, &e.UserAgent, &e.Details, &created)
	e.CreatedAt = fromMS(created)
	return e, err
}
