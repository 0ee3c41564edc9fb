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
	err = s.write(ctx, func(tx *sql.Tx) error {
		pair, account, err = recordFailureTx(ctx, tx, connection, identifier, ip, now, window)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: record failure: %w", err)
	}
	return pair, account, nil
}

func recordFailureTx(ctx context.Context, tx *sql.Tx, connection, identifier, ip string, now time.Time, window time.Duration) (pair, account int, err error) {
	at := now.UnixMilli()
	if _, err := tx.ExecContext(ctx, `INSERT INTO failures (connection, identifier, ip, at)
		VALUES (?, ?, ?, ?)`, connection, identifier, ip, at); err != nil {
		return 0, 0, err
	}
	if err := tx.QueryRowContext(ctx, `INSERT INTO pair_failures (connection, identifier, ip, consecutive, last_at)
		VALUES (?, ?, ?, 1, ?)
		ON CONFLICT (connection, identifier, ip) DO UPDATE SET
			consecutive = consecutive + 1, last_at = max(last_at, excluded.last_at)
		RETURNING consecutive`, connection, identifier, ip, at).Scan(&pair); err != nil {
		return 0, 0, err
	}
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM failures
		WHERE connection = ? AND identifier = ? AND at > ?`,
		connection, identifier, at-window.Milliseconds()).Scan(&account)
	return pair, account, err
}

// ResetFailures clears the consecutive failures of one pair. The rows of the
// rolling window stay: a success from one ip does not wipe the account-wide
// count that failures from every ip built up, or each login of the victim
// would hand an attacker with many ips a fresh allowance of guesses, and the
// bound on guesses per window would not hold.
func (s *Store) ResetFailures(ctx context.Context, connection, identifier, ip string) error {
	err := s.write(ctx, func(tx *sql.Tx) error { return resetFailuresTx(ctx, tx, connection, identifier, ip) })
	if err != nil {
		return fmt.Errorf("sqlite: reset failures: %w", err)
	}
	return nil
}

func resetFailuresTx(ctx context.Context, tx *sql.Tx, connection, identifier, ip string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM pair_failures
		WHERE connection = ? AND identifier = ? AND ip = ?`, connection, identifier, ip)
	return err
}

const blockColumns = `id, connection, identifier, ip, reason, created_at, expires_at`

// CreateBlock stores a block. A duplicate ID fails with
// store.ErrAlreadyExists.
func (s *Store) CreateBlock(ctx context.Context, b store.Block) error {
	err := s.write(ctx, func(tx *sql.Tx) error { return createBlockTx(ctx, tx, b) })
	if err != nil {
		return fmt.Errorf("sqlite: create block: %w", err)
	}
	return nil
}

func createBlockTx(ctx context.Context, tx *sql.Tx, b store.Block) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO blocks (`+blockColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.Connection, b.Identifier, b.IP, b.Reason, ms(b.CreatedAt), ms(b.ExpiresAt))
	return duplicate(err, "block %q", b.ID)
}

// ActiveBlock returns a block with now < ExpiresAt that stops identifier on
// connection from ip: an account-wide one when there is one, then one of ip
// on every identifier, then one of the pair; among equals the one that lasts
// longest.
func (s *Store) ActiveBlock(ctx context.Context, connection, identifier, ip string, now time.Time) (store.Block, error) {
	b, err := activeBlock(ctx, s.r, connection, identifier, ip, now)
	if err != nil {
		return store.Block{}, fmt.Errorf("sqlite: active block: %w", err)
	}
	return b, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func activeBlock(ctx context.Context, q queryRower, connection, identifier, ip string, now time.Time) (store.Block, error) {
	row := q.QueryRowContext(ctx, `SELECT `+blockColumns+` FROM blocks
		WHERE expires_at > ? AND (
			(connection = ? AND identifier = ? AND (ip = '' OR ip = ?))
			OR (identifier = '' AND ip = ? AND ip <> ''))
		ORDER BY ip <> '', identifier <> '', expires_at DESC, seq DESC LIMIT 1`,
		now.UnixMilli(), connection, identifier, ip, ip)
	b, err := scanBlock(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	return b, err
}

// GuessCode checks a code under brute-force protection in one transaction;
// see store.Store.
func (s *Store) GuessCode(ctx context.Context, connection, identifier string, codeHMAC []byte, now time.Time, consume bool, g store.Guard) (store.Guessed, error) {
	var (
		res     store.Guessed
		outcome error
	)
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, outcome = store.Guessed{}, nil
		if len(g.Takes) > 0 {
			bs, limited, err := takeTokensTx(ctx, tx, g.Takes, now)
			res.Buckets = bs
			if err != nil || limited {
				if limited {
					outcome = store.ErrRateLimited
				}
				return err
			}
		}
		if g.Protect {
			b, err := activeBlock(ctx, tx, connection, identifier, g.IP, now)
			switch {
			case err == nil:
				res.Block, outcome = b, store.ErrBlocked
				return nil
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		var err error
		res.Code, outcome, err = checkCodeTx(ctx, tx, connection, identifier, codeHMAC, now, consume, g.Accept)
		switch {
		case err != nil:
			return err
		case !g.Protect:
			return nil
		case outcome == nil:
			return resetFailuresTx(ctx, tx, connection, identifier, g.IP)
		case outcome != store.ErrCodeWrong:
			return nil
		}
		pair, account, err := recordFailureTx(ctx, tx, connection, identifier, g.IP, now, g.AccountWindow)
		if err != nil {
			return err
		}
		block := func(b store.Block) error {
			id, err := g.NewID()
			if err != nil {
				return err
			}
			b.ID, b.CreatedAt = id, now
			if err := createBlockTx(ctx, tx, b); err != nil {
				return err
			}
			res.NewBlocks = append(res.NewBlocks, b)
			return nil
		}
		if g.PairThreshold > 0 && pair >= g.PairThreshold {
			// The pair starts counting again, so that after the block it
			// takes as many failures again to be blocked again.
			if err := resetFailuresTx(ctx, tx, connection, identifier, g.IP); err != nil {
				return err
			}
			if err := block(store.Block{Connection: connection, Identifier: identifier, IP: g.IP,
				Reason: "limit_wc", ExpiresAt: now.Add(g.PairBlock)}); err != nil {
				return err
			}
		}
		if g.AccountThreshold > 0 && account >= g.AccountThreshold {
			until, err := windowEnd(ctx, tx, `connection = ? AND identifier = ?`, g.AccountThreshold, now, g.AccountWindow, connection, identifier)
			if err != nil {
				return err
			}
			if err := block(store.Block{Connection: connection, Identifier: identifier,
				Reason: "limit_wc", ExpiresAt: until}); err != nil {
				return err
			}
		}
		if g.IPThreshold > 0 && g.IP != "" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM failures WHERE ip = ? AND at > ?`,
				g.IP, now.UnixMilli()-g.IPWindow.Milliseconds()).Scan(&n); err != nil {
				return err
			}
			if n >= g.IPThreshold {
				until, err := windowEnd(ctx, tx, `ip = ?`, g.IPThreshold, now, g.IPWindow, g.IP)
				if err != nil {
					return err
				}
				if err := block(store.Block{IP: g.IP, Reason: "limit_mu", ExpiresAt: until}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return store.Guessed{}, fmt.Errorf("sqlite: guess code: %w", err)
	}
	return res, outcome
}

// windowEnd is when the failures matching where (within window before now)
// drop below threshold again: when the threshold-th newest of them leaves
// the window.
func windowEnd(ctx context.Context, tx *sql.Tx, where string, threshold int, now time.Time, window time.Duration, args ...any) (time.Time, error) {
	var at int64
	args = append(args, now.UnixMilli()-window.Milliseconds(), threshold-1)
	err := tx.QueryRowContext(ctx, `SELECT at FROM failures WHERE `+where+` AND at > ?
		ORDER BY at DESC LIMIT 1 OFFSET ?`, args...).Scan(&at)
	if err != nil {
		return time.Time{}, err
	}
	return fromMS(at).Add(window), nil
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
// starts afresh; given an ip, it deletes that ip's suspicious-ip block and
// forgets its failures. It returns how many blocks it deleted. It is an operator's
// command, rare enough that it scans the tables rather than needing indexes
// on identifier alone.
func (s *Store) ClearBlocks(ctx context.Context, identifier string) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM blocks WHERE identifier = ? OR (identifier = '' AND ip = ?)`, identifier, identifier)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM failures WHERE identifier = ? OR ip = ?`, identifier, identifier); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM pair_failures WHERE identifier = ? OR ip = ?`, identifier, identifier)
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
