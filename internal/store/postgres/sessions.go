package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/store"
)

const sessionColumns = `id, hash, user_id, client_id, auth_time, created_at, expires_at, ip, user_agent`

// CreateSession stores a login session. A duplicate ID or hash fails with
// store.ErrAlreadyExists.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			sess.ID, sess.Hash, sess.UserID, sess.ClientID,
			ts(sess.AuthTime), ts(sess.CreatedAt), ts(sess.ExpiresAt), sess.IP, text(sess.UserAgent))
		return duplicate(err, "session %q", sess.ID)
	})
	if err != nil {
		return fmt.Errorf("postgres: create session: %w", err)
	}
	return nil
}

// Session returns the session with hash if it has not expired at now
// (now < ExpiresAt); store.ErrNotFound otherwise.
func (s *Store) Session(ctx context.Context, hash []byte, now time.Time) (store.Session, error) {
	var sess store.Session
	err := s.query(ctx, func(ctx context.Context, q querier) error {
		var ua []byte
		err := q.QueryRow(ctx, `SELECT `+sessionColumns+`
			FROM sessions WHERE hash = $1 AND expires_at > $2`, hash, ts(now)).
			Scan(&sess.ID, &sess.Hash, &sess.UserID, &sess.ClientID,
				at(&sess.AuthTime), at(&sess.CreatedAt), at(&sess.ExpiresAt), &sess.IP, &ua)
		sess.UserAgent = string(ua)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("postgres: session: %w", err)
	}
	return sess, nil
}

// DeleteSession deletes the session with hash; an unknown one is no error.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete session: %w", err)
	}
	return nil
}
