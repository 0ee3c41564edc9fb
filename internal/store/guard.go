package store

import (
	"crypto/subtle"
	"time"
)

// The rules of GuessCode, for backends. A backend reads and writes rows
// inside one transaction and asks these functions what the rows mean, so
// that every backend decides the same way.

// JudgeGuess is the outcome of presenting codeHMACs (one guessed value's
// HMAC under each key the server holds) for an identifier whose live code is
// live (nil when there is none), where staleMatch says whether one of
// codeHMACs is one of the identifier's used or replaced codes. A value
// matches when any of its HMACs does; it is still one guess. In order of
// precedence:
//
//	live code, tries used up               -> ErrAttemptsExceeded
//	value is not the live code's but matches
//	  a used or replaced code              -> ErrCodeStale (not counted)
//	live code expired (now >= ExpiresAt)   -> ErrCodeExpired (not counted)
//	value matches                          -> nil: the code may be consumed
//	otherwise                              -> ErrCodeWrong: one try is used
//	no live code: stale match              -> ErrCodeStale, else ErrCodeNotFound
//
// The comparison is constant-time.
func JudgeGuess(live *Code, codeHMACs [][]byte, staleMatch bool, now time.Time) error {
	if live == nil {
		if staleMatch {
			return ErrCodeStale
		}
		return ErrCodeNotFound
	}
	// Every candidate is compared, in constant time, whatever an earlier
	// one gave: the time taken says nothing about which key matched.
	m := 0
	for _, h := range codeHMACs {
		m |= subtle.ConstantTimeCompare(live.CodeHMAC, h)
	}
	match := m == 1
	switch {
	case live.Attempts >= live.MaxTries:
		return ErrAttemptsExceeded
	case !match && staleMatch:
		return ErrCodeStale
	case !now.Before(live.ExpiresAt):
		return ErrCodeExpired
	case match:
		return nil
	default:
		return ErrCodeWrong
	}
}

// Effects says what a guess's outcome does to the failure counters under g:
// only a wrong guess at a live code is counted (a used, replaced or expired
// code gives an attacker nothing, and counting it would let a replay lock
// users out), and a success clears the consecutive failures of the
// (identifier, ip) pair. The rolling windows are never cleared by a success:
// one login of the victim would otherwise hand an attacker with many
// addresses a fresh allowance of guesses. Without g.Protect nothing is
// counted or cleared.
func (g Guard) Effects(outcome error) (count, resetPair bool) {
	if !g.Protect {
		return false, false
	}
	return outcome == ErrCodeWrong, outcome == nil
}

// Failures is what a backend counted, in the guess's transaction, after it
// recorded a wrong guess of identifier on connection from g.IP at now.
type Failures struct {
	// Pair is the consecutive failures of (connection, identifier, g.IP),
	// this one included.
	Pair int
	// AccountNth is when the g.AccountThreshold-th newest failure of
	// (connection, identifier), from any ip, within g.AccountWindow before
	// now happened; zero when there are fewer (or the rule is off).
	AccountNth time.Time
	// IPNth is the same for the failures from g.IP on any identifier
	// within g.IPWindow; zero when there are fewer, the rule is off or
	// g.IP is empty.
	IPNth time.Time
}

// Penalties is what a counted failure brings about.
type Penalties struct {
	// ResetPair: the pair starts counting again, so that after its block
	// it takes as many failures again to be blocked again.
	ResetPair bool
	// Blocks to create, each with its Auth0 event type as Reason
	// (limit_wc for an identifier, limit_mu for an address), without ID
	// or CreatedAt.
	Blocks []Block
}

// Penalize decides the blocks a counted failure creates: the pair's block
// for g.PairBlock when its consecutive failures reach g.PairThreshold; an
// account-wide block when the identifier's failures within g.AccountWindow
// reach g.AccountThreshold, until the oldest of those leaves the window; and
// a block of g.IP on every identifier the same way (suspicious-IP
// throttling). A zero threshold disables its rule.
func (g Guard) Penalize(connection, identifier string, now time.Time, f Failures) Penalties {
	var p Penalties
	if g.PairThreshold > 0 && f.Pair >= g.PairThreshold {
		p.ResetPair = true
		p.Blocks = append(p.Blocks, Block{Connection: connection, Identifier: identifier, IP: g.IP,
			Reason: "limit_wc", ExpiresAt: now.Add(g.PairBlock)})
	}
	if g.AccountThreshold > 0 && !f.AccountNth.IsZero() {
		p.Blocks = append(p.Blocks, Block{Connection: connection, Identifier: identifier,
			Reason: "limit_wc", ExpiresAt: f.AccountNth.Add(g.AccountWindow)})
	}
	if g.IPThreshold > 0 && g.IP != "" && !f.IPNth.IsZero() {
		p.Blocks = append(p.Blocks, Block{IP: g.IP, Reason: "limit_mu", ExpiresAt: f.IPNth.Add(g.IPWindow)})
	}
	return p
}

// Strongest picks, among the blocks in force that stop a guess, the one to
// answer with: an account-wide block first, then one of the address on
// every identifier, then the pair's; among equals the one that lasts
// longest, then the newest. It reports false for none.
func Strongest(blocks []Block) (Block, bool) {
	rank := func(b Block) int {
		switch {
		case b.IP == "":
			return 0 // account-wide
		case b.Identifier == "":
			return 1 // the address, on every identifier
		default:
			return 2 // the pair
		}
	}
	var best Block
	found := false
	for _, b := range blocks {
		switch {
		case !found:
		case rank(b) != rank(best):
			if rank(b) > rank(best) {
				continue
			}
		case !b.ExpiresAt.Equal(best.ExpiresAt):
			if b.ExpiresAt.Before(best.ExpiresAt) {
				continue
			}
		case !b.CreatedAt.After(best.CreatedAt):
			continue
		}
		best, found = b, true
	}
	return best, found
}
