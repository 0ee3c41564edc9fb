package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// RecordFailure counts one failed verification in one transaction: a row in
// failures (for the account-wide rolling window) and one more consecutive
// failure of the (connection, identifier, ip) pair. It returns the pair's
// consecutive count and the identifier's failures on connection, from any ip,
// with now-window < at.
func (s *Store) RecordFailure(ctx context.Context, connection, identifier, ip string, now time.Time, window time.Duration) (pair, account int, err error) {
	at := now.UnixMilli()
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO failures (connection, identifier, ip, at)
			VALUES (?, ?, ?, ?)`, connection, identifier, ip, at); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO pair_failures (connection, identifier, ip, consecutive, last_at)
			VALUES (?, ?, ?, 1, ?)
			ON CONFLICT (connection, identifier, ip) DO UPDATE SET
				consecutive = consecutive + 1, last_at = max(last_at, excluded.last_at)
			RETURNING consecutive`, connection, identifier, ip, at).Scan(&pair); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM failures
			WHERE connection = ? AND identifier = ? AND at > ?`,
			connection, identifier, at-window.Milliseconds()).Scan(&account)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: record failure: %w", err)
	}
	return pair, account, nil
}

// ResetFailures clears the consecutive failures of one pair. The rows of the
// rolling window stay: a success from one ip does not wipe the account-wide
// count that failures from every ip built up, or each login of the victim
// would hand an attacker with many ips a fresh allowance of guesses, and the
// bound on guesses per window would not hold.
func (s *Store) ResetFailures(ctx context.Context, connection, identifier, ip string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM pair_failures
			WHERE connection = ? AND identifier = ? AND ip = ?`, connection, identifier, ip)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: reset failures: %w", err)
	}
	return nil
}

const blockColumns = `id, connection, identifier, ip, reason, created_at, expires_at`

// CreateBlock stores a block. A duplicate ID fails with
// store.ErrAlreadyExists.
func (s *Store) CreateBlock(ctx context.Context, b store.Block) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO blocks (`+blockColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			b.ID, b.Connection, b.Identifier, b.IP, b.Reason, ms(b.CreatedAt), ms(b.ExpiresAt))
		return duplicate(err, "block %q", b.ID)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create block: %w", err)
	}
	return nil
}

// ActiveBlock returns a block with now < ExpiresAt for identifier on
// connection that is account-wide or for ip: an account-wide one when there
// is one, and among equals the one that lasts longest.
func (s *Store) ActiveBlock(ctx context.Context, connection, identifier, ip string, now time.Time) (store.Block, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+blockColumns+` FROM blocks
		WHERE connection = ? AND identifier = ? AND (ip = '' OR ip = ?) AND expires_at > ?
		ORDER BY ip <> '', expires_at DESC, seq DESC LIMIT 1`,
		connection, identifier, ip, now.UnixMilli())
	b, err := scanBlock(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Block{}, fmt.Errorf("sqlite: active block: %w", err)
	}
	return b, nil
}

// Blocks lists the blocks with now < ExpiresAt, newest first.
func (s *Store) Blocks(ctx context.Context, now time.Time) ([]store.Block, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+blockColumns+` FROM blocks
		WHERE expires_at > ? ORDER BY created_at DESC, seq DESC`, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("sqlite: blocks: %w", err)
	}
	var blocks []store.Block
	for rows.Next() {
		b, err := scanBlock(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: blocks: %w", err)
		}
		blocks = append(blocks, b)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("sqlite: blocks: %w", err)
	}
	return blocks, nil
}

// ClearBlocks deletes every block of identifier, on every connection and for
// every ip, with its failure rows and pair counters, so that the identifier
// starts afresh. It returns how many blocks it deleted. It is an operator's
// command, rare enough that it scans the tables rather than needing indexes
// on identifier alone.
func (s *Store) ClearBlocks(ctx context.Context, identifier string) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM blocks WHERE identifier = ?`, identifier)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM failures WHERE identifier = ?`, identifier); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM pair_failures WHERE identifier = ?`, identifier)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: clear blocks: %w", err)
	}
	return int(n), nil
}

// scanBlock reads the blockColumns of one row.
func scanBlock(row interface{ Scan(...any) error }) (store.Block, error) {
	var (
		b                store.Block
		created, expires int64
	)
	if err := row.Scan(&b.ID, &b.Connection, &b.Identifier, &b.IP, &b.Reason, &created, &expires); err != nil {
		return store.Block{}, err
	}
	b.CreatedAt, b.ExpiresAt = fromMS(created), fromMS(expires)
	return b, nil
}
