package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// CreateCode takes the tokens of takes, then replaces the live code of
// code's connection and identifier with code, queues msg and appends
// event (each when not nil), in one
// transaction. A duplicate code or message ID fails with
// store.ErrAlreadyExists.
func (s *Store) CreateCode(ctx context.Context, code store.Code, msg *store.OutboxMessage, event *store.Event, takes ...store.Take) ([]store.Bucket, error) {
	var (
		bs      []store.Bucket
		limited bool
	)
	err := s.write(ctx, func(tx *stmtTx) error {
		if len(takes) > 0 {
			var err error
			if bs, limited, err = takeTokensTx(ctx, tx, takes, code.CreatedAt); err != nil || limited {
				return err // a refused take's refill is committed; nothing else was written
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE codes SET state = 'replaced'
			WHERE connection = ? AND identifier = ? AND state = 'live'`,
			code.Connection, code.Identifier); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO codes
			(id, connection, identifier, code_hmac, key_id, client_id, send, auth_params,
			 created_at, expires_at, attempts, max_tries, state)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'live')`,
			code.ID, code.Connection, code.Identifier, code.CodeHMAC, code.StoredKeyID(), code.ClientID, code.Send,
			nullBytes(code.AuthParams), ms(code.CreatedAt), ms(code.ExpiresAt), code.Attempts, code.MaxTries)
		if err != nil {
			return duplicate(err, "code %q", code.ID)
		}
		if msg != nil {
			if err := insertOutbox(ctx, tx, msg); err != nil {
				return err
			}
		}
		if event != nil {
			return addEventsTx(ctx, tx, []store.Event{*event})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: create code: %w", err)
	}
	if limited {
		return bs, store.ErrRateLimited
	}
	return bs, nil
}

// checkCodeTx reads the live code and whether one of codeHMACs is a used or replaced
// one, lets store.JudgeGuess decide, and consumes the code or uses up a try
// as it says. It returns the code on success, else the outcome; err is a
// database failure.
// A match that accept (when not nil) refuses is returned as accept's error,
// consumed and counted nothing.
func checkCodeTx(ctx context.Context, tx *stmtTx, connection, identifier string, codeHMACs [][]byte, now time.Time, consume bool, accept func(store.Code) error) (result store.Code, outcome, err error) {
	// The live code (at most one: the codes_live index), and whether the
	// value is one of the identifier's used or replaced codes (codes_hmac):
	// two index lookups, however many codes the identifier was sent.
	var (
		c                store.Code
		live             *store.Code
		liveSeq          int64
		created, expires int64
		staleMatch       bool
	)
	err = tx.QueryRowContext(ctx, `SELECT seq, id, code_hmac, key_id, client_id, send, auth_params,
			created_at, expires_at, attempts, max_tries
		FROM codes WHERE connection = ? AND identifier = ? AND state = 'live'`, connection, identifier).
		Scan(&liveSeq, &c.ID, &c.CodeHMAC, &c.KeyID, &c.ClientID, &c.Send, &c.AuthParams, &created, &expires, &c.Attempts, &c.MaxTries)
	switch {
	case err == nil:
		c.Connection, c.Identifier = connection, identifier
		c.CreatedAt, c.ExpiresAt = fromMS(created), fromMS(expires)
		live = &c
	case !errors.Is(err, sql.ErrNoRows):
		return store.Code{}, nil, err
	}
	if len(codeHMACs) > 0 {
		args := []any{connection, identifier}
		for _, h := range codeHMACs {
			args = append(args, h)
		}
		in := strings.Repeat(", ?", len(codeHMACs))[2:]
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM codes
			WHERE connection = ? AND identifier = ? AND code_hmac IN (`+in+`) AND state <> 'live')`,
			args...).Scan(&staleMatch); err != nil {
			return store.Code{}, nil, err
		}
	}

	outcome = store.JudgeGuess(live, codeHMACs, staleMatch, now)
	switch outcome {
	case nil:
		if accept != nil {
			if err := accept(*live); err != nil {
				return store.Code{}, err, nil
			}
		}
		if consume {
			if _, err := tx.ExecContext(ctx, `UPDATE codes SET state = 'used' WHERE seq = ?`, liveSeq); err != nil {
				return store.Code{}, nil, err
			}
		}
		return *live, nil, nil
	case store.ErrCodeWrong:
		if _, err := tx.ExecContext(ctx, `UPDATE codes SET attempts = attempts + 1 WHERE seq = ?`, liveSeq); err != nil {
			return store.Code{}, nil, err
		}
	}
	return store.Code{}, outcome, nil
}
