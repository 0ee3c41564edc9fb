package sqlite

// PreparedStatements is how many statements s keeps prepared, for tests.
func PreparedStatements(s *Store) int {
	n := 0
	for _, c := range []*stmtCache{s.ws, s.rs} {
		c.mu.Lock()
		n += len(c.m)
		c.mu.Unlock()
	}
	return n
}

// WriterCacheSize is the writer connection's PRAGMA cache_size.
func WriterCacheSize(s *Store) (int, error) {
	var n int
	err := s.w.QueryRow("PRAGMA cache_size").Scan(&n)
	return n, err
}

// OutboxClaimSQL is the claim's expiry and claim statements, for their
// query plans.
func OutboxClaimSQL() (expire, claim string) { return expireOutboxSQL, claimOutboxSQL }
