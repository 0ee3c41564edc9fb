package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/store"
)

// ipLock is the advisory lock that serializes the guesses that count
// towards one address's suspicious-ip block, whatever identifier they are
// for, so that the count that decides a block is exact.
func ipLock(ip string) string { return lockName("ip", ip) }

// recordFailureTx counts one wrong guess: a row in failures (for the rolling
// windows) and one more consecutive failure of the (connection, identifier,
// ip) pair; it returns what g's rules need to know.
func recordFailureTx(ctx context.Context, tx pgx.Tx, connection, identifier string, now time.Time, g store.Guard) (store.Failures, error) {
	var f store.Failures
	if _, err := tx.Exec(ctx, `INSERT INTO failures (connection, identifier, ip, at)
		VALUES ($1, $2, $3, $4)`, connection, identifier, g.IP, ts(now)); err != nil {
		return f, err
	}
	if err := tx.QueryRow(ctx, `INSERT INTO pair_failures (connection, identifier, ip, consecutive, last_at)
		VALUES ($1, $2, $3, 1, $4)
		ON CONFLICT (connection, identifier, ip) DO UPDATE SET
			consecutive = pair_failures.consecutive + 1,
			last_at = greatest(pair_failures.last_at, excluded.last_at)
		RETURNING consecutive`, connection, identifier, g.IP, ts(now)).Scan(&f.Pair); err != nil {
		return f, err
	}
	if g.AccountThreshold > 0 {
		err := tx.QueryRow(ctx, `SELECT at FROM failures
			WHERE connection = $1 AND identifier = $2 AND at > $3
			ORDER BY at DESC LIMIT 1 OFFSET $4`,
			connection, identifier, ts(now.Add(-g.AccountWindow)), g.AccountThreshold-1).Scan(at(&f.AccountNth))
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return f, err
		}
	}
	if g.IPThreshold > 0 && g.IP != "" {
		err := tx.QueryRow(ctx, `SELECT at FROM failures
			WHERE ip = $1 AND at > $2
			ORDER BY at DESC LIMIT 1 OFFSET $3`,
			g.IP, ts(now.Add(-g.IPWindow)), g.IPThreshold-1).Scan(at(&f.IPNth))
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return f, err
		}
	}
	return f, nil
}

// resetFailuresTx clears the consecutive failures of one pair.
func resetFailuresTx(ctx context.Context, tx pgx.Tx, connection, identifier, ip string) error {
	_, err := tx.Exec(ctx, `DELETE FROM pair_failures
		WHERE connection = $1 AND identifier = $2 AND ip = $3`, connection, identifier, ip)
	return err
}

const blockColumns = `id, connection, identifier, ip, reason, created_at, expires_at`

func createBlockTx(ctx context.Context, tx pgx.Tx, b store.Block) error {
	_, err := tx.Exec(ctx, `INSERT INTO blocks (`+blockColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		b.ID, b.Connection, b.Identifier, b.IP, b.Reason, ts(b.CreatedAt), ts(b.ExpiresAt))
	return duplicate(err, "block %q", b.ID)
}

// scanBlocks reads rows of blockColumns.
func scanBlocks(rows pgx.Rows) ([]store.Block, error) {
	var blocks []store.Block
	for rows.Next() {
		var b store.Block
		if err := rows.Scan(&b.ID, &b.Connection, &b.Identifier, &b.IP, &b.Reason, at(&b.CreatedAt), at(&b.ExpiresAt)); err != nil {
			rows.Close()
			return nil, err
		}
		blocks = append(blocks, b)
	}
	return blocks, closeRows(rows)
}

// activeBlocks returns the blocks in force at now that stop identifier on
// connection from ip (the pair's, the identifier's account-wide one, and
// ip's on every identifier), newest first.
func activeBlocks(ctx context.Context, tx pgx.Tx, connection, identifier, ip string, now time.Time) ([]store.Block, error) {
	rows, err := tx.Query(ctx, `SELECT `+blockColumns+` FROM blocks
		WHERE expires_at > $1 AND (
			(connection = $2 AND identifier = $3 AND (ip = '' OR ip = $4))
			OR (identifier = '' AND ip = $4 AND ip <> ''))
		ORDER BY seq DESC`,
		ts(now), connection, identifier, ip)
	if err != nil {
		return nil, err
	}
	return scanBlocks(rows)
}

// GuessCode checks a code under brute-force protection in one transaction;
// see store.Store. It reads and writes rows; store.JudgeGuess, Guard.Effects,
// Guard.Penalize and store.Strongest decide what they mean.
//
// After the buckets, the transaction takes the identifier's lock (every
// guess at and every new code for it wait for each other) and, when the
// guess can block its address on every identifier, the address's lock, so
// that no guess slips past a block an earlier one created and every count
// that decides a block is exact.
func (s *Store) GuessCode(ctx context.Context, connection, identifier string, codeHMACs [][]byte, now time.Time, consume bool, g store.Guard) (store.Guessed, error) {
	var (
		res     store.Guessed
		outcome error
	)
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
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
		// The guess proper; the log lines of its outcome follow in the
		// same transaction.
		err := func() error {
			locks := []string{codeLock(connection, identifier)}
			if g.Protect && g.IP != "" && g.IPThreshold > 0 {
				locks = append(locks, ipLock(g.IP))
			}
			if err := lock(ctx, tx, locks...); err != nil {
				return err
			}
			if g.Protect {
				blocks, err := activeBlocks(ctx, tx, connection, identifier, g.IP, now)
				if err != nil {
					return err
				}
				if b, ok := store.Strongest(blocks); ok {
					res.Block, outcome = b, store.ErrBlocked
					return nil
				}
			}
			var err error
			res.Code, outcome, err = checkCodeTx(ctx, tx, connection, identifier, codeHMACs, now, consume, g.Accept)
			if err != nil {
				return err
			}
			if outcome == nil && consume && g.Login != nil {
				u, created, err := loginUserTx(ctx, tx, *g.Login, g.AllowSignup)
				switch {
				case errors.Is(err, store.ErrNotFound):
					res.SignupRefused = true
				case errors.Is(err, store.ErrUserBlocked):
					res.User, res.UserBlocked = u, true
				case err != nil:
					return err
				default:
					res.User, res.Created = u, created
				}
			}
			count, resetPair := g.Effects(outcome)
			if resetPair {
				return resetFailuresTx(ctx, tx, connection, identifier, g.IP)
			}
			if !count {
				return nil
			}
			f, err := recordFailureTx(ctx, tx, connection, identifier, now, g)
			if err != nil {
				return err
			}
			p := g.Penalize(connection, identifier, now, f)
			if p.ResetPair {
				if err := resetFailuresTx(ctx, tx, connection, identifier, g.IP); err != nil {
					return err
				}
			}
			for _, b := range p.Blocks {
				id, err := g.NewID()
				if err != nil {
					return err
				}
				b.ID, b.CreatedAt = id, now
				if err := createBlockTx(ctx, tx, b); err != nil {
					return err
				}
				res.NewBlocks = append(res.NewBlocks, b)
			}
			return nil
		}()
		if err != nil || g.Log == nil {
			return err
		}
		return addEventsTx(ctx, tx, g.Log(res, outcome))
	})
	if err != nil {
		return store.Guessed{}, fmt.Errorf("postgres: guess code: %w", err)
	}
	return res, outcome
}

// Blocks lists the blocks with now < ExpiresAt, newest first.
func (s *Store) Blocks(ctx context.Context, now time.Time) ([]store.Block, error) {
	var blocks []store.Block
	err := s.query(ctx, func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT `+blockColumns+` FROM blocks
			WHERE expires_at > $1 ORDER BY created_at DESC, seq DESC`, ts(now))
		if err != nil {
			return err
		}
		blocks, err = scanBlocks(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: blocks: %w", err)
	}
	return blocks, nil
}

// ClearBlocks deletes every block of identifier, on every connection and for
// every ip, with its failure rows and pair counters, so that the identifier
// starts afresh; given an ip, it deletes that ip's suspicious-ip block and
// forgets its failures. It returns how many blocks it deleted. It is an
// operator's command, rare enough that it scans the tables rather than
// needing indexes on identifier alone.
func (s *Store) ClearBlocks(ctx context.Context, identifier string) (int, error) {
	n, err := s.clearBlocks(ctx,
		`identifier = $1 OR (identifier = '' AND ip = $1)`, `identifier = $1 OR ip = $1`, identifier)
	if err != nil {
		return 0, fmt.Errorf("postgres: clear blocks: %w", err)
	}
	return n, nil
}

// ClearBlocksOf deletes the blocks of identifier on connection, with its
// failure rows and pair counters there; see store.Store.
func (s *Store) ClearBlocksOf(ctx context.Context, connection, identifier string) (int, error) {
	where := `connection = $1 AND identifier = $2`
	n, err := s.clearBlocks(ctx, where, where, connection, identifier)
	if err != nil {
		return 0, fmt.Errorf("postgres: clear blocks of %s/%s: %w", connection, identifier, err)
	}
	return n, nil
}

// clearBlocks deletes, in one transaction, the blocks that match
// blockWhere and the failure rows and pair counters that match
// failureWhere (both taking args), and returns how many blocks it deleted.
func (s *Store) clearBlocks(ctx context.Context, blockWhere, failureWhere string, args ...any) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM blocks WHERE `+blockWhere, args...)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		if _, err := tx.Exec(ctx, `DELETE FROM failures WHERE `+failureWhere, args...); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM pair_failures WHERE `+failureWhere, args...)
		return err
	})
	return int(n), err
}

// BlocksOf lists the blocks in force at now that stop identifier, on
// connection or (connection empty) on every connection, newest first.
func (s *Store) BlocksOf(ctx context.Context, connection, identifier string, now time.Time) ([]store.Block, error) {
	var blocks []store.Block
	err := s.query(ctx, func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT `+blockColumns+` FROM blocks
			WHERE identifier = $1 AND identifier <> '' AND ($2 = '' OR connection = $2) AND expires_at > $3
			ORDER BY created_at DESC, seq DESC`, identifier, connection, ts(now))
		if err != nil {
			return err
		}
		blocks, err = scanBlocks(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: blocks of %s: %w", identifier, err)
	}
	return blocks, nil
}
