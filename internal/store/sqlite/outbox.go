package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// insertOutbox queues msg. An empty Status means pending; a zero NextAttempt
// means due at once; a zero NotAfter means it never expires.
func insertOutbox(ctx context.Context, tx *stmtTx, msg *store.OutboxMessage) error {
	status := msg.Status
	if status == "" {
		status = store.OutboxPending
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox
		(id, kind, recipient, payload, not_after, attempts, next_attempt, status, last_error, created_at, sent_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		msg.ID, msg.Kind, msg.Recipient, nullBytes(msg.Payload), ms(msg.NotAfter), msg.Attempts,
		ms(msg.NextAttempt), status, msg.LastError, ms(msg.CreatedAt), ms(msg.SentAt))
	return duplicate(err, "outbox message %q", msg.ID)
}

const outboxColumns = `id, kind, recipient, payload, not_after, attempts, next_attempt,
	status, last_error, created_at, sent_at`

func scanOutbox(row interface{ Scan(...any) error }) (store.OutboxMessage, error) {
	var m store.OutboxMessage
	var notAfter, next, created, sent int64
	err := row.Scan(&m.ID, &m.Kind, &m.Recipient, &m.Payload, &notAfter, &m.Attempts, &next,
		&m.Status, &m.LastError, &created, &sent)
	m.NotAfter, m.NextAttempt = fromMS(notAfter), fromMS(next)
	m.CreatedAt, m.SentAt = fromMS(created), fromMS(sent)
	return m, err
}

// The claim's two statements. Both are read through partial indexes of the
// pending rows (migration 0007): the expiry through outbox_not_after, the
// claim through outbox_due in its ORDER BY, so it stops at its LIMIT
// however long the backlog is (TestOutboxClaimPlans).
const (
	expireOutboxSQL = `UPDATE outbox SET status = 'expired', payload = NULL
		WHERE status = 'pending' AND not_after <> 0 AND not_after <= ?`
	claimOutboxSQL = `UPDATE outbox SET next_attempt = ?
		WHERE id IN (SELECT id FROM outbox
			WHERE status = 'pending' AND next_attempt <= ?
			ORDER BY next_attempt, created_at, id LIMIT ?)
		RETURNING ` + outboxColumns
)

// ClaimOutbox leases up to limit pending messages due at now (NextAttempt <=
// now), oldest due first, by moving their NextAttempt to now+lease; the
// returned messages carry that lease end. Pending messages with
// now >= NotAfter are first marked expired and their payload dropped.
func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxMessage, error) {
	n := ms(now)
	var msgs []store.OutboxMessage
	err := s.write(ctx, func(tx *stmtTx) error {
		if _, err := tx.ExecContext(ctx, expireOutboxSQL, n); err != nil {
			return err
		}
		if limit <= 0 {
			return nil
		}
		rows, err := tx.QueryContext(ctx, claimOutboxSQL, n+lease.Milliseconds(), n, limit)
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
		return nil, fmt.Errorf("sqlite: claim outbox: %w", err)
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
	err := s.write(ctx, func(tx *stmtTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'sent', payload = NULL, sent_at = ?
			WHERE id = ?`, ms(now), id)
		return notFoundIfNone(res, err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: complete outbox %q: %w", id, err)
	}
	return nil
}

// CompleteOutboxMany marks the messages of ids sent at now and drops their
// payloads, in one transaction of statements of at most 500 ids each.
func (s *Store) CompleteOutboxMany(ctx context.Context, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *stmtTx) error {
		for chunk := range slices.Chunk(ids, 500) {
			args := make([]any, 0, 1+len(chunk))
			args = append(args, ms(now))
			for _, id := range chunk {
				args = append(args, id)
			}
			// Not kept prepared (tx.Tx): its text changes with the number of ids.
			if _, err := tx.Tx.ExecContext(ctx, `UPDATE outbox SET status = 'sent', payload = NULL, sent_at = ?
				WHERE id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: complete %d outbox messages: %w", len(ids), err)
	}
	return nil
}

// RetryOutbox counts a failed attempt and schedules the next one at next, or
// with giveUp marks the message failed and drops its payload.
func (s *Store) RetryOutbox(ctx context.Context, id string, lastErr string, next time.Time, giveUp bool) error {
	err := s.write(ctx, func(tx *stmtTx) error {
		var res sql.Result
		var err error
		if giveUp {
			res, err = tx.ExecContext(ctx, `UPDATE outbox
				SET status = 'failed', payload = NULL, attempts = attempts + 1, last_error = ?, next_attempt = ?
				WHERE id = ?`, lastErr, ms(next), id)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE outbox
				SET attempts = attempts + 1, last_error = ?, next_attempt = ?
				WHERE id = ?`, lastErr, ms(next), id)
		}
		return notFoundIfNone(res, err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: retry outbox %q: %w", id, err)
	}
	return nil
}

// OutboxMessage returns one message.
func (s *Store) OutboxMessage(ctx context.Context, id string) (store.OutboxMessage, error) {
	m, err := scanOutbox(s.r.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.OutboxMessage{}, fmt.Errorf("sqlite: outbox message %q: %w", id, err)
	}
	return m, nil
}

// notFoundIfNone turns an UPDATE that matched no row into store.ErrNotFound.
func notFoundIfNone(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// OutboxBacklog implements store.Store.
func (s *Store) OutboxBacklog(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM outbox WHERE status = 'pending'`).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlite: outbox backlog: %w", err)
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	return n, fromMS(oldest.Int64), nil
}
