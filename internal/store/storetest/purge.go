package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// purgeGrace is how long the suite expects dead rows to be kept: a used or
// replaced code must still answer ErrCodeStale (and an expired one
// ErrCodeExpired) for a day after it expired, and finished outbox rows stay a
// day for operators to look at.
const purgeGrace = 24 * time.Hour

// retention is how long the suite expects failures and events to be kept:
// longer than any account window an operator would configure.
const retention = 30 * 24 * time.Hour

func purge(t *testing.T, st store.Store, now time.Time) {
	t.Helper()
	if err := st.PurgeExpired(ctx(t), now, 0); err != nil {
		t.Fatalf("PurgeExpired at %v: %v", now.Sub(t0), err)
	}
}

func checkMessageGone(t *testing.T, st store.Store, id string, gone bool) {
	t.Helper()
	_, err := st.OutboxMessage(ctx(t), id)
	switch {
	case gone && !errors.Is(err, store.ErrNotFound):
		t.Errorf("message %s: OutboxMessage = %v, want it purged (ErrNotFound)", id, err)
	case !gone && err != nil:
		t.Errorf("message %s: OutboxMessage = %v, want it kept", id, err)
	}
}

func checkTokenGone(t *testing.T, st store.Store, value string, gone bool) {
	t.Helper()
	_, err := st.RefreshToken(ctx(t), tokenHash(value))
	switch {
	case gone && !errors.Is(err, store.ErrNotFound):
		t.Errorf("token %s: RefreshToken = %v, want it purged (ErrNotFound)", value, err)
	case !gone && err != nil:
		t.Errorf("token %s: RefreshToken = %v, want it kept", value, err)
	}
}

var purgeTests = []test{
	{"DeadCodesLastADayPastExpiry", func(t *testing.T, s *suite) {
		st := s.open(t)
		createCode(t, st, newCode("c1", "email", "a@example.com", "111111", t0), nil) // replaced
		createCode(t, st, newCode("c2", "email", "a@example.com", "222222", t0), nil) // used
		verify(t, st, "email", "a@example.com", "222222", t0, nil)
		createCode(t, st, newCode("c3", "email", "b@example.com", "333333", t0), nil) // expires
		expiry := t0.Add(codeLifetime)

		purge(t, st, expiry.Add(purgeGrace-time.Millisecond))
		verify(t, st, "email", "a@example.com", "111111", expiry, store.ErrCodeStale)
		verify(t, st, "email", "a@example.com", "222222", expiry, store.ErrCodeStale)
		verify(t, st, "email", "b@example.com", "333333", expiry, store.ErrCodeExpired)

		purge(t, st, expiry.Add(purgeGrace))
		verify(t, st, "email", "a@example.com", "111111", expiry, store.ErrCodeNotFound)
		verify(t, st, "email", "a@example.com", "222222", expiry, store.ErrCodeNotFound)
		verify(t, st, "email", "b@example.com", "333333", expiry, store.ErrCodeNotFound)
	}},
	{"LiveCodesAreKept", func(t *testing.T, s *suite) {
		st := s.open(t)
		c := newCode("c1", "email", "a@example.com", "111111", t0)
		c.ExpiresAt = t0.Add(72 * time.Hour)
		createCode(t, st, c, nil)
		purge(t, st, t0.Add(48*time.Hour))
		verify(t, st, "email", "a@example.com", "111111", t0.Add(48*time.Hour), nil)
	}},
	{"FinishedMessagesLastADay", func(t *testing.T, s *suite) {
		st := s.open(t)
		queue(t, st, newMessage("sent", t0))
		queue(t, st, newMessage("failed", t0))
		queue(t, st, newMessage("expired", t0))
		slow := newMessage("pending", t0)
		slow.NotAfter = time.Time{}
		queue(t, st, slow)

		sentAt := t0.Add(time.Hour)
		if err := st.CompleteOutbox(ctx(t), "sent", sentAt); err != nil {
			t.Fatal(err)
		}
		if err := st.RetryOutbox(ctx(t), "failed", "gave up", t0.Add(time.Minute), true); err != nil {
			t.Fatal(err)
		}
		// Claiming past NotAfter expires "expired"; the others are not due.
		checkClaim(t, st, t0.Add(codeLifetime), lease, 1, "pending")

		purge(t, st, t0.Add(purgeGrace-time.Millisecond))
		for _, id := range []string{"sent", "failed", "expired", "pending"} {
			checkMessageGone(t, st, id, false)
		}
		purge(t, st, t0.Add(purgeGrace))
		checkMessageGone(t, st, "failed", true)
		checkMessageGone(t, st, "expired", true)
		checkMessageGone(t, st, "sent", false) // a day after it was sent
		purge(t, st, sentAt.Add(purgeGrace))
		checkMessageGone(t, st, "sent", true)
		purge(t, st, t0.Add(365*24*time.Hour))
		checkMessageGone(t, st, "pending", false)
	}},
	{"UnclaimedPendingMessagesGoADayAfterNotAfter", func(t *testing.T, s *suite) {
		st := s.open(t)
		m := newMessage("m1", t0)
		queue(t, st, m)
		purge(t, st, m.NotAfter.Add(purgeGrace-time.Millisecond))
		checkMessageGone(t, st, "m1", false)
		purge(t, st, m.NotAfter.Add(purgeGrace))
		checkMessageGone(t, st, "m1", true)
	}},
	{"RefreshTokensGoAtExpiryOrADayAfterRevocation", func(t *testing.T, s *suite) {
		st := s.open(t)
		expiring := newToken("expiring", "", t0)
		expiring.ExpiresAt = t0.Add(time.Hour)
		createToken(t, st, expiring)
		createToken(t, st, newToken("forever", "", t0))
		createToken(t, st, newToken("rotated", "", t0))
		use(t, st, "rotated", t0, true, 0, nextToken("current", t0), nil)
		createToken(t, st, newToken("revoked", "", t0))
		if err := st.RevokeRefreshToken(ctx(t), tokenHash("revoked"), "cli-a", t0); err != nil {
			t.Fatal(err)
		}

		purge(t, st, t0.Add(time.Hour-time.Millisecond))
		for _, v := range []string{"expiring", "forever", "rotated", "current", "revoked"} {
			checkTokenGone(t, st, v, false)
		}
		purge(t, st, t0.Add(time.Hour))
		checkTokenGone(t, st, "expiring", true)
		purge(t, st, t0.Add(purgeGrace))
		checkTokenGone(t, st, "revoked", true)
		// Rotated tokens stay for reuse detection; current ones stay.
		purge(t, st, t0.Add(365*24*time.Hour))
		for _, v := range []string{"forever", "rotated", "current"} {
			checkTokenGone(t, st, v, false)
		}
	}},
	{"AuthCodesGoAnHourAfterExpiry", func(t *testing.T, s *suite) {
		st := s.open(t)
		createAuthCode(t, st, newAuthCode("used", t0))
		redeem(t, st, "used", t0, nil)
		createAuthCode(t, st, newAuthCode("unused", t0))
		live := newAuthCode("live", t0)
		live.ExpiresAt = t0.Add(48 * time.Hour)
		createAuthCode(t, st, live)
		expiry := t0.Add(authCodeLifetime)

		// A replayed code is still recognised as reuse long after its life.
		purge(t, st, expiry.Add(authCodeGrace-time.Millisecond))
		redeem(t, st, "used", expiry.Add(authCodeGrace-time.Millisecond), store.ErrCodeStale)
		redeem(t, st, "unused", expiry.Add(authCodeGrace-time.Millisecond), store.ErrCodeExpired)

		purge(t, st, expiry.Add(authCodeGrace))
		redeem(t, st, "used", t0, store.ErrNotFound)
		redeem(t, st, "unused", t0, store.ErrNotFound)
		redeem(t, st, "live", t0.Add(24*time.Hour), nil)
	}},
	{"LoginTicketsGoAtExpiry", func(t *testing.T, s *suite) {
		st := s.open(t)
		short := newTicket("short", t0)
		createTicket(t, st, short)
		long := newTicket("long", t0)
		long.ExpiresAt = t0.Add(time.Hour)
		createTicket(t, st, long)

		purge(t, st, short.ExpiresAt.Add(-time.Millisecond))
		redeemTicket(t, st, "short", t0, nil) // still there
		createTicket(t, st, short)
		purge(t, st, short.ExpiresAt)
		// Redeemed at an earlier time, so that only a deleted row is missing.
		redeemTicket(t, st, "short", t0, store.ErrNotFound)
		redeemTicket(t, st, "long", t0, nil)
	}},
	{"SessionsGoAtExpiry", func(t *testing.T, s *suite) {
		st := s.open(t)
		short := newSession("short", t0)
		short.ExpiresAt = t0.Add(time.Hour)
		createSession(t, st, short)
		createSession(t, st, newSession("long", t0))

		purge(t, st, short.ExpiresAt.Add(-time.Millisecond))
		session(t, st, "short", t0, nil)
		purge(t, st, short.ExpiresAt)
		// Looked up at an earlier time, so that only a deleted row is missing.
		session(t, st, "short", t0, store.ErrNotFound)
		session(t, st, "long", t0, nil)
	}}, {"BucketsGoWhenFullAgain", func(t *testing.T, s *suite) {
		st := s.open(t)
		take(t, st, "one", hourly, t0) // full again at t0+refillOne
		drain(t, st, "all", t0)        // full again at t0+Per
		// A purged bucket and a full one are the same, except to a clock
		// that went back to t0: there a kept bucket still misses what was
		// taken at t0 (nothing is refilled), a purged one is full.
		purge(t, st, t0.Add(refillOne-time.Millisecond))
		checkTake(t, st, "one", hourly, t0, true, hourly.Burst-2, t0.Add(2*refillOne))
		purge(t, st, t0.Add(2*refillOne))
		checkTake(t, st, "one", hourly, t0, true, hourly.Burst-1, t0.Add(refillOne))

		purge(t, st, t0.Add(hourly.Per-time.Millisecond))
		checkTake(t, st, "all", hourly, t0, false, 0, t0.Add(hourly.Per))
		purge(t, st, t0.Add(hourly.Per))
		checkTake(t, st, "all", hourly, t0, true, hourly.Burst-1, t0.Add(refillOne))
	}},
	{"FailuresGo30DaysOnAndIdlePairCountersWithThem", func(t *testing.T, s *suite) {
		st := s.open(t)
		wide := retention + 24*time.Hour // sees every row still stored
		for _, id := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"} {
			liveCode(t, st, "email", id, t0)
		}
		account := func(name string) store.Guard { return accountGuard(name, "192.0.2.1", 2, wide) }
		// Failure rows: c's, 30 days less a millisecond old, still count;
		// a's, 30 days old, are gone.
		wrongGuess(t, st, "email", "a@example.com", t0, account("a"))
		wrongGuess(t, st, "email", "c@example.com", t0, account("c"))
		purge(t, st, t0.Add(retention-time.Millisecond))
		if ids := wrongGuess(t, st, "email", "c@example.com", t0.Add(retention-time.Millisecond), account("c")); len(ids) != 1 {
			t.Errorf("a failure was purged before 30 days: %v", ids)
		}
		purge(t, st, t0.Add(retention))
		if ids := wrongGuess(t, st, "email", "a@example.com", t0.Add(retention), account("a")); len(ids) != 0 {
			t.Errorf("a 30-day-old failure still counts: %v", ids)
		}
		// Pair counters: d's is in use and stays; b's has been idle for 30
		// days and goes.
		pair := func(name string) store.Guard { return pairGuard(name, "192.0.2.2", 3) }
		wrongGuess(t, st, "email", "b@example.com", t0, pair("b"))
		wrongGuess(t, st, "email", "b@example.com", t0, pair("b"))
		wrongGuess(t, st, "email", "d@example.com", t0, pair("d"))
		wrongGuess(t, st, "email", "d@example.com", t0.Add(retention-time.Millisecond), pair("d"))
		purge(t, st, t0.Add(retention))
		if ids := wrongGuess(t, st, "email", "d@example.com", t0.Add(retention), pair("d")); len(ids) != 1 {
			t.Errorf("a pair counter in use was purged: %v", ids)
		}
		if ids := wrongGuess(t, st, "email", "b@example.com", t0.Add(retention), pair("b")); len(ids) != 0 {
			t.Errorf("an idle pair counter survived 30 days: %v", ids)
		}
	}},
	{"BlocksGoAtExpiry", func(t *testing.T, s *suite) {
		st := s.open(t)
		liveCode(t, st, "email", "a@example.com", t0)
		liveCode(t, st, "email", "b@example.com", t0)
		wrongGuess(t, st, "email", "a@example.com", t0, pairGuard("short", "192.0.2.1", 1))
		long := pairGuard("long", "192.0.2.1", 1)
		long.PairBlock = 30 * 24 * time.Hour
		wrongGuess(t, st, "email", "b@example.com", t0, long)
		// Listed at t0, so that only a deleted block is missing.
		purge(t, st, t0.Add(blockLifetime-time.Millisecond))
		checkBlocks(t, st, t0, "long-1", "short-1")
		purge(t, st, t0.Add(blockLifetime))
		checkBlocks(t, st, t0, "long-1")
	}},
	{"ManyDeadRowsGoInOnePurge", func(t *testing.T, s *suite) {
		// More than any sensible batch: a backend that deletes in batches
		// must keep going until nothing dead is left.
		st := s.open(t)
		const dead = 2500
		for i := range dead {
			addEvent(t, st, newEvent(fmt.Sprint("dead-", i), t0))
		}
		addEvent(t, st, newEvent("live", t0.Add(retention)))
		purge(t, st, t0.Add(retention))
		checkEvents(t, st, newest(10), "live")
	}},
	{"EventsGoAfter30Days", func(t *testing.T, s *suite) {
		st := s.open(t)
		addEvent(t, st, newEvent("old", t0))
		addEvent(t, st, newEvent("new", t0.Add(time.Hour)))
		purge(t, st, t0.Add(retention-time.Millisecond))
		checkEvents(t, st, newest(10), "new", "old")
		purge(t, st, t0.Add(retention))
		checkEvents(t, st, newest(10), "new")
	}},
	{"EventsGoAfterTheRetentionGiven", func(t *testing.T, s *suite) {
		st := s.open(t)
		addEvent(t, st, newEvent("old", t0), newEvent("new", t0.Add(time.Hour)))
		// Other rows keep their own rules: a failure stays.
		liveCode(t, st, "email", "a@example.com", t0)
		wrongGuess(t, st, "email", "a@example.com", t0, pairGuard("p", "192.0.2.1", 100))
		week := 7 * 24 * time.Hour
		if err := st.PurgeExpired(ctx(t), t0.Add(week-time.Millisecond), week); err != nil {
			t.Fatal(err)
		}
		checkEvents(t, st, newest(10), "new", "old")
		if err := st.PurgeExpired(ctx(t), t0.Add(week), week); err != nil {
			t.Fatal(err)
		}
		checkEvents(t, st, newest(10), "new")
		if ids := wrongGuess(t, st, "email", "a@example.com", t0.Add(week), pairGuard("q", "192.0.2.1", 2)); len(ids) != 1 {
			t.Errorf("after a purge with a week's event retention, the failure of a week ago was forgotten: blocks %v", ids)
		}
	}},
	{"RotatedSigningKeysGoAtPublishedUntil", func(t *testing.T, s *suite) {
		st := s.open(t)
		k1, k2, k3 := signingKey(1), signingKey(2), signingKey(3)
		es := algKey("ES256", 4)
		ensureKey(t, st, k1)
		ensureKey(t, st, es)
		until1, until2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
		rotate(t, st, k2, k1.KID, until1)
		rotate(t, st, k3, k2.KID, until2)
		r1, r2 := rotated(k1, k2, until1), rotated(k2, k3, until2)
		// Listed at t0, so that only a deleted key is missing.
		purge(t, st, until1.Add(-time.Millisecond))
		checkKeys(t, st, t0, es, k3, r2, r1)
		purge(t, st, until1)
		checkKeys(t, st, t0, es, k3, r2)
		// Current keys stay, however late it is.
		purge(t, st, t0.Add(100*365*24*time.Hour))
		checkKeys(t, st, t0, es, k3)
	}},
}
