package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

const sessionColumns = `id, hash, user_id, client_id, auth_time, created_at, expires_at, ip, user_agent`

// CreateSession stores a login session. A duplicate ID or hash fails with
// store.ErrAlreadyExists. A session with a zero ExpiresAt is stored but is
// never found.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	err := s.write(ctx, func(tx *stmtTx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sess.ID, sess.Hash, sess.UserID, sess.ClientID,
			ms(sess.AuthTime), ms(sess.CreatedAt), ms(sess.ExpiresAt), sess.IP, sess.UserAgent)
		return duplicate(err, "session %q", sess.ID)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// Session returns the session with hash if it has not expired at now
// (now < ExpiresAt); store.ErrNotFound otherwise.
func (s *Store) Session(ctx context.Context, hash []byte, now time.Time) (store.Session, error) {
	var (
		sess                      store.Session
		authTime, created, expiry int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT `+sessionColumns+`
		FROM sessions WHERE hash = ? AND expires_at > ?`, hash, now.UnixMilli()).
		Scan(&sess.ID, &sess.Hash, &sess.UserID, &sess.ClientID,
			&authTime, &created, &expiry, &sess.IP, &sess.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("sqlite: session: %w", err)
	}
	sess.AuthTime, sess.CreatedAt, sess.ExpiresAt = fromMS(authTime), fromMS(created), fromMS(expiry)
	return sess, nil
}

// DeleteSession deletes the session with hash; an unknown one is no error.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	err := s.write(ctx, func(tx *stmtTx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete session: %w", err)
	}
	return nil
}
