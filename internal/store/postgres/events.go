package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/store"
)

const eventColumns = `id, type, description, client_id, client_name, connection, connection_id,
	user_id, identifier, ip, user_agent, details, created_at`

// addEventsTx appends events inside a transaction that is already open.
func addEventsTx(ctx context.Context, tx pgx.Tx, events []store.Event) error {
	for _, e := range events {
		_, err := tx.Exec(ctx, `INSERT INTO events (`+eventColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			e.ID, e.Type, text(e.Description), text(e.ClientID), e.ClientName, e.Connection, e.ConnectionID,
			e.UserID, e.Identifier, e.IP, text(e.UserAgent), e.Details, ts(e.CreatedAt))
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
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error { return addEventsTx(ctx, tx, events) })
	if err != nil {
		return fmt.Errorf("postgres: add events: %w", err)
	}
	return nil
}

// Events returns the events q selects; see store.EventQuery. The count and
// the page come from one snapshot.
func (s *Store) Events(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(q.Types) > 0 {
		where = append(where, `type = ANY (`+arg(q.Types)+`)`)
	}
	if q.UserID != "" {
		where = append(where, `user_id = `+arg(q.UserID))
	}
	if q.ClientID != "" {
		where = append(where, `client_id = `+arg(text(q.ClientID)))
	}
	if !q.Since.IsZero() {
		where = append(where, `created_at >= `+arg(ts(q.Since)))
	}
	if !q.Until.IsZero() {
		where = append(where, `created_at < `+arg(ts(q.Until)))
	}
	filter := ""
	if len(where) > 0 {
		filter = ` WHERE ` + strings.Join(where, ` AND `)
	}
	countArgs := len(args)
	query := `SELECT ` + eventColumns + ` FROM events` + filter
	switch {
	case q.After != "":
		if filter == "" {
			query += ` WHERE `
		} else {
			query += ` AND `
		}
		query += `id > ` + arg(q.After) + ` ORDER BY id LIMIT ` + arg(q.Limit())
	case q.Ascending:
		query += ` ORDER BY created_at, id LIMIT ` + arg(q.Limit()) + ` OFFSET ` + arg(q.Offset())
	default:
		query += ` ORDER BY created_at DESC, id DESC LIMIT ` + arg(q.Limit()) + ` OFFSET ` + arg(q.Offset())
	}

	var page store.EventPage
	err := s.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		page = store.EventPage{}
		if q.IncludeTotal && q.After == "" {
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM events`+filter, args[:countArgs]...).Scan(&page.Total); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				rows.Close()
				return err
			}
			page.Events = append(page.Events, e)
		}
		return closeRows(rows)
	})
	if err != nil {
		return store.EventPage{}, fmt.Errorf("postgres: events: %w", err)
	}
	return page, nil
}

// Event returns the event with this ID, or store.ErrNotFound.
func (s *Store) Event(ctx context.Context, id string) (store.Event, error) {
	var e store.Event
	err := s.query(ctx, func(ctx context.Context, q querier) error {
		var err error
		e, err = scanEvent(q.QueryRow(ctx, `SELECT `+eventColumns+` FROM events WHERE id = $1`, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Event{}, fmt.Errorf("postgres: event %q: %w", id, err)
	}
	return e, nil
}

func scanEvent(row pgx.Row) (store.Event, error) {
	var (
		e                                store.Event
		description, clientID, userAgent []byte
	)
	err := row.Scan(&e.ID, &e.Type, &description, &clientID, &e.ClientName, &e.Connection, &e.ConnectionID,
		&e.UserID, &e.Identifier, &e.IP, &userAgent, &e.Details, at(&e.CreatedAt))
	e.Description, e.ClientID, e.UserAgent = string(description), string(clientID), string(userAgent)
	return e, err
}
