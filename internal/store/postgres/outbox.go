package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/store"
)

// insertOutbox queues msg. An empty Status means pending; a zero NextAttempt
// means due at once; a zero NotAfter means it never expires.
func insertOutbox(ctx context.Context, tx pgx.Tx, msg *store.OutboxMessage) error {
	status := msg.Status
	if status == "" {
		status = store.OutboxPending
	}
	_, err := tx.Exec(ctx, `INSERT INTO outbox
		(id, kind, recipient, payload, not_after, attempts, next_attempt, status, last_error, created_at, sent_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		msg.ID, msg.Kind, msg.Recipient, msg.Payload, ts(msg.NotAfter), msg.Attempts,
		ts(msg.NextAttempt), status, text(msg.LastError), ts(msg.CreatedAt), ts(msg.SentAt))
	return duplicate(err, "outbox message %q", msg.ID)
}

const outboxColumns = `id, kind, recipient, payload, not_after, attempts, next_attempt,
	status, last_error, created_at, sent_at`

func scanOutbox(row pgx.Row) (store.OutboxMessage, error) {
	var (
		m       store.OutboxMessage
		lastErr []byte
	)
	err := row.Scan(&m.ID, &m.Kind, &m.Recipient, &m.Payload, at(&m.NotAfter), &m.Attempts, at(&m.NextAttempt),
		&m.Status, &lastErr, at(&m.CreatedAt), at(&m.SentAt))
	m.LastError = string(lastErr)
	return m, err
}

// ClaimOutbox leases up to limit pending messages due at now (NextAttempt <=
// now), oldest due first, by moving their NextAttempt to now+lease; the
// returned messages carry that lease end. Pending messages with
// now >= NotAfter are first marked expired and their payload dropped.
//
// Both steps lock their rows with FOR UPDATE SKIP LOCKED: claimers on every
// replica run side by side, each leasing rows no other holds, and none
// waits for another's transaction.
func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxMessage, error) {
	var msgs []store.OutboxMessage
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		msgs = nil
		if _, err := tx.Exec(ctx, `UPDATE outbox SET status = 'expired', payload = NULL
			WHERE id IN (SELECT id FROM outbox
				WHERE status = 'pending' AND not_after <= $1
				FOR UPDATE SKIP LOCKED)`, ts(now)); err != nil {
			return err
		}
		if limit <= 0 {
			return nil
		}
		rows, err := tx.Query(ctx, `UPDATE outbox SET next_attempt = $1
			WHERE id IN (SELECT id FROM outbox
				WHERE status = 'pending' AND (next_attempt IS NULL OR next_attempt <= $2)
				ORDER BY next_attempt NULLS FIRST, created_at, id LIMIT $3
				FOR UPDATE SKIP LOCKED)
			RETURNING `+outboxColumns, ts(now.Add(lease)), ts(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			m, err := scanOutbox(rows)
			if err != nil {
				rows.Close()
				return err
			}
			msgs = append(msgs, m)
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim outbox: %w", err)
	}
	// RETURNING does not keep the subquery's order.
	sort.Slice(msgs, func(i, j int) bool {
		if !msgs[i].CreatedAt.Equal(msgs[j].CreatedAt) {
			return msgs[i].CreatedAt.Before(msgs[j].CreatedAt)
		}
		return msgs[i].ID < msgs[j].ID
	})
	return msgs, nil
}

// CompleteOutbox marks the message sent at now and drops its payload.
func (s *Store) CompleteOutbox(ctx context.Context, id string, now time.Time) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return notFoundIfNone(tx.Exec(ctx, `UPDATE outbox SET status = 'sent', payload = NULL, sent_at = $1
			WHERE id = $2`, ts(now), id))
	})
	if err != nil {
		return fmt.Errorf("postgres: complete outbox %q: %w", id, err)
	}
	return nil
}

// CompleteOutboxMany marks the messages of ids sent at now and drops their
// payloads, in one statement.
func (s *Store) CompleteOutboxMany(ctx context.Context, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE outbox SET status = 'sent', payload = NULL, sent_at = $1
			WHERE id = ANY($2)`, ts(now), ids)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: complete %d outbox messages: %w", len(ids), err)
	}
	return nil
}

// RetryOutbox counts a failed attempt and schedules the next one at next, or
// with giveUp marks the message failed and drops its payload.
func (s *Store) RetryOutbox(ctx context.Context, id string, lastErr string, next time.Time, giveUp bool) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if giveUp {
			return notFoundIfNone(tx.Exec(ctx, `UPDATE outbox
				SET status = 'failed', payload = NULL, attempts = attempts + 1, last_error = $1, next_attempt = $2
				WHERE id = $3`, text(lastErr), ts(next), id))
		}
		return notFoundIfNone(tx.Exec(ctx, `UPDATE outbox
			SET attempts = attempts + 1, last_error = $1, next_attempt = $2
			WHERE id = $3`, text(lastErr), ts(next), id))
	})
	if err != nil {
		return fmt.Errorf("postgres: retry outbox %q: %w", id, err)
	}
	return nil
}

// OutboxMessage returns one message.
func (s *Store) OutboxMessage(ctx context.Context, id string) (store.OutboxMessage, error) {
	var m store.OutboxMessage
	err := s.query(ctx, func(ctx context.Context, q querier) error {
		var err error
		m, err = scanOutbox(q.QueryRow(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = $1`, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.OutboxMessage{}, fmt.Errorf("postgres: outbox message %q: %w", id, err)
	}
	return m, nil
}

// OutboxBacklog implements store.Store.
func (s *Store) OutboxBacklog(ctx context.Context) (int, time.Time, error) {
	var (
		n      int
		oldest time.Time
	)
	err := s.query(ctx, func(ctx context.Context, q querier) error {
		return q.QueryRow(ctx, `SELECT count(*), min(created_at) FROM outbox WHERE status = 'pending'`).Scan(&n, at(&oldest))
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("postgres: outbox backlog: %w", err)
	}
	return n, oldest, nil
}
