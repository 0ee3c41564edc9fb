package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// LockKeySQL and LockName let tests take the store's advisory locks.
var (
	LockKeySQL = lockKeySQL
	LockName   = lockName
)

// PoolConfig is the configuration the store's pool was made with.
func (s *Store) PoolConfig() *pgxpool.Config { return s.pool.Config() }
