package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// recordFailureTx counts one wrong guess: a row in failures (for the rolling
// windows) and one more consecutive failure of the (connection, identifier,
// ip) pair; it returns what g's rules need to know.
func recordFailureTx(ctx context.Context, tx *stmtTx, connection, identifier string, now time.Time, g store.Guard) (store.Failures, error) {
	var f store.Failures
	at := now.UnixMilli()
	if _, err := tx.ExecContext(ctx, `INSERT INTO failures (connection, identifier, ip, at)
		VALUES (?, ?, ?, ?)`, connection, identifier, g.IP, at); err != nil {
		return f, err
	}
	if err := tx.QueryRowContext(ctx, `INSERT INTO pair_failures (connection, identifier, ip, consecutive, last_at)
		VALUES (?, ?, ?, 1, ?)
		ON CONFLICT (connection, identifier, ip) DO UPDATE SET
			consecutive = consecutive + 1, last_at = max(last_at, excluded.last_at)
		RETURNING consecutive`, connection, identifier, g.IP, at).Scan(&f.Pair); err != nil {
		return f, err
	}
	var err error
	if g.AccountThreshold > 0 {
		if f.AccountNth, err = nthFailure(ctx, tx, `connection = ? AND identifier = ?`, g.AccountThreshold,
			now.Add(-g.AccountWindow), connection, identifier); err != nil {
			return f, err
		}
	}
	if g.IPThreshold > 0 && g.IP != "" {
		if f.IPNth, err = nthFailure(ctx, tx, `ip = ?`, g.IPThreshold, now.Add(-g.IPWindow), g.IP); err != nil {
			return f, err
		}
	}
	return f, nil
}

// resetFailuresTx clears the consecutive failures of one pair.
func resetFailuresTx(ctx context.Context, tx *stmtTx, connection, identifier, ip string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM pair_failures
		WHERE connection = ? AND identifier = ? AND ip = ?`, connection, identifier, ip)
	return err
}

const blockColumns = `id, connection, identifier, ip, reason, created_at, expires_at`

func createBlockTx(ctx context.Context, tx *stmtTx, b store.Block) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO blocks (`+blockColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.Connection, b.Identifier, b.IP, b.Reason, ms(b.CreatedAt), ms(b.ExpiresAt))
	return duplicate(err, "block %q", b.ID)
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// activeBlocks returns the blocks in force at now that stop identifier on
// connection from ip (the pair's, the identifier's account-wide one, and
// ip's on every identifier), newest first.
func activeBlocks(ctx context.Context, q queryer, connection, identifier, ip string, now time.Time) ([]store.Block, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+blockColumns+` FROM blocks
		WHERE expires_at > ? AND (
			(connection = ? AND identifier = ? AND (ip = '' OR ip = ?))
			OR (identifier = '' AND ip = ? AND ip <> ''))
		ORDER BY seq DESC`,
		now.UnixMilli(), connection, identifier, ip, ip)
	if err != nil {
		return nil, err
	}
	return scanBlocks(rows)
}

// GuessCode checks a code under brute-force protection in one transaction;
// see store.Store. It reads and writes rows; store.JudgeGuess, Guard.Effects,
// Guard.Penalize and store.Strongest decide what they mean.
func (s *Store) GuessCode(ctx context.Context, connection, identifier string, codeHMACs [][]byte, now time.Time, consume bool, g store.Guard) (store.Guessed, error) {
	var (
		res     store.Guessed
		outcome error
	)
	err := s.write(ctx, func(tx *stmtTx) error {
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
		return store.Guessed{}, fmt.Errorf("sqlite: guess code: %w", err)
	}
	return res, outcome
}

// nthFailure is when the n-th newest failure matching where, after since,
// happened; zero when there are fewer than n.
func nthFailure(ctx context.Context, tx *stmtTx, where string, n int, since time.Time, args ...any) (time.Time, error) {
	var at int64
	args = append(args, since.UnixMilli(), n-1)
	err := tx.QueryRowContext(ctx, `SELECT at FROM failures WHERE `+where+` AND at > ?
		ORDER BY at DESC LIMIT 1 OFFSET ?`, args...).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return fromMS(at), nil
}

// Blocks lists the blocks with now < ExpiresAt, newest first.
func (s *Store) Blocks(ctx context.Context, now time.Time) ([]store.Block, error) {
	var blocks []store.Block
	rows, err := s.r.QueryContext(ctx, `SELECT `+blockColumns+` FROM blocks
		WHERE expires_at > ? ORDER BY created_at DESC, seq DESC`, now.UnixMilli())
	if err == nil {
		blocks, err = scanBlocks(rows)
	}
	if err != nil {
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
	n, err := s.clearBlocks(ctx,
		`identifier = ? OR (identifier = '' AND ip = ?)`, `identifier = ? OR ip = ?`, identifier, identifier)
	if err != nil {
		return 0, fmt.Errorf("sqlite: clear blocks: %w", err)
	}
	return n, nil
}

// ClearBlocksOf deletes the blocks of identifier on connection, with its
// failure rows and pair counters there; see store.Store.
func (s *Store) ClearBlocksOf(ctx context.Context, connection, identifier string) (int, error) {
	where := `connection = ? AND identifier = ?`
	n, err := s.clearBlocks(ctx, where, where, connection, identifier)
	if err != nil {
		return 0, fmt.Errorf("sqlite: clear blocks of %s/%s: %w", connection, identifier, err)
	}
	return n, nil
}

// clearBlocks deletes, in one transaction, the blocks that match
// blockWhere and the failure rows and pair counters that match
// failureWhere (both taking args), and returns how many blocks it deleted.
func (s *Store) clearBlocks(ctx context.Context, blockWhere, failureWhere string, args ...any) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *stmtTx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM blocks WHERE `+blockWhere, args...)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM failures WHERE `+failureWhere, args...); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM pair_failures WHERE `+failureWhere, args...)
		return err
	})
	return int(n), err
}

// BlocksOf lists the blocks in force at now that stop identifier, on
// connection or (connection empty) on every connection, newest first.
func (s *Store) BlocksOf(ctx context.Context, connection, identifier string, now time.Time) ([]store.Block, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+blockColumns+` FROM blocks
		WHERE identifier = ? AND identifier <> '' AND (? = '' OR connection = ?) AND expires_at > ?
		ORDER BY created_at DESC, seq DESC`, identifier, connection, connection, now.UnixMilli())
	var blocks []store.Block
	if err == nil {
		blocks, err = scanBlocks(rows)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: blocks of %s: %w", identifier, err)
	}
	return blocks, nil
}

// scanBlocks reads rows of blockColumns and closes them.
func scanBlocks(rows *sql.Rows) ([]store.Block, error) {
	var blocks []store.Block
	for rows.Next() {
		b, err := scanBlock(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		blocks = append(blocks, b)
	}
	return blocks, closeRows(rows)
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
