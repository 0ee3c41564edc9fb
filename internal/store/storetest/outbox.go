package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// newMessage returns a pending message created and due at now, valid for
// the code lifetime.
func newMessage(id string, now time.Time) store.OutboxMessage {
	return store.OutboxMessage{
		ID:          id,
		Kind:        "email",
		Recipient:   id + "@example.com",
		Payload:     []byte("sealed:" + id),
		NotAfter:    now.Add(codeLifetime),
		NextAttempt: now,
		Status:      store.OutboxPending,
		CreatedAt:   now,
	}
}

// queue queues msg with a code of its own (messages enter the outbox only
// through CreateCode).
func queue(t *testing.T, st store.Store, msg store.OutboxMessage) {
	t.Helper()
	createCode(t, st, newCode("code-"+msg.ID, "email", msg.Recipient, "123456", msg.CreatedAt), &msg)
}

func message(t *testing.T, st store.Store, id string) store.OutboxMessage {
	t.Helper()
	m, err := st.OutboxMessage(ctx(t), id)
	if err != nil {
		t.Fatalf("OutboxMessage(%s): %v", id, err)
	}
	return m
}

func claim(t *testing.T, st store.Store, now time.Time, lease time.Duration, limit int) []string {
	t.Helper()
	msgs, err := st.ClaimOutbox(ctx(t), now, lease, limit)
	if err != nil {
		t.Fatalf("ClaimOutbox: %v", err)
	}
	ids := []string{}
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	sort.Strings(ids)
	return ids
}

func checkClaim(t *testing.T, st store.Store, now time.Time, lease time.Duration, limit int, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := claim(t, st, now, lease, limit); !reflect.DeepEqual(got, want) {
		t.Errorf("ClaimOutbox at %v = %v, want %v", now.Sub(t0), got, want)
	}
}

const lease = 30 * time.Second

var outboxTests = []test{
	{"BacklogCountsThePendingMessagesAndTheOldest", func(t *testing.T, s *suite) {
		st := s.open(t)
		backlog := func() (int, time.Time) {
			t.Helper()
			n, oldest, err := st.OutboxBacklog(ctx(t))
			if err != nil {
				t.Fatalf("OutboxBacklog: %v", err)
			}
			return n, oldest
		}
		if n, oldest := backlog(); n != 0 || !oldest.IsZero() {
			t.Fatalf("empty outbox: backlog %d, oldest %v; want 0 and zero", n, oldest)
		}
		queue(t, st, newMessage("b1", t0))
		queue(t, st, newMessage("b2", t0.Add(time.Second)))
		queue(t, st, newMessage("b3", t0.Add(2*time.Second)))
		if n, oldest := backlog(); n != 3 || !oldest.Equal(t0) {
			t.Fatalf("backlog %d, oldest %v; want 3 and %v", n, oldest, t0)
		}
		// A claimed message is still pending until it is sent; a sent and
		// a failed one are not.
		checkClaim(t, st, t0.Add(3*time.Second), time.Minute, 10, "b1", "b2", "b3")
		if err := st.CompleteOutbox(ctx(t), "b1", t0.Add(4*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := st.RetryOutbox(ctx(t), "b2", "refused", t0.Add(time.Hour), true); err != nil {
			t.Fatal(err)
		}
		if n, oldest := backlog(); n != 1 || !oldest.Equal(t0.Add(2*time.Second)) {
			t.Fatalf("after one sent and one failed: backlog %d, oldest %v; want 1 and %v", n, oldest, t0.Add(2*time.Second))
		}
	}},
	{"CreateCodeQueuesTheMessage", func(t *testing.T, s *suite) {
		st := s.open(t)
		msg := newMessage("m1", t0)
		queue(t, st, msg)
		got := message(t, st, "m1")
		if !reflect.DeepEqual(got, msg) {
			t.Errorf("OutboxMessage =\n%+v\nwant\n%+v", got, msg)
		}
		if _, err := st.OutboxMessage(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("OutboxMessage(unknown) = %v, want ErrNotFound", err)
		}
	}},
	{"ClaimReturnsDueMessages", func(t *testing.T, s *suite) {
		st := s.open(t)
		queue(t, st, newMessage("m1", t0))
		later := newMessage("m2", t0)
		later.NextAttempt = t0.Add(time.Minute)
		queue(t, st, later)
		msgs, err := st.ClaimOutbox(ctx(t), t0, time.Hour, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].ID != "m1" {
			t.Fatalf("ClaimOutbox = %+v, want only the due m1", msgs)
		}
		m := msgs[0]
		if string(m.Payload) != "sealed:m1" || m.Kind != "email" || m.Recipient != "m1@example.com" || m.Status != store.OutboxPending {
			t.Errorf("claimed message = %+v, want its kind, recipient and payload", m)
		}
		checkClaim(t, st, t0.Add(time.Minute), lease, 10, "m2")
	}},
	{"ClaimLeasesMessages", func(t *testing.T, s *suite) {
		st := s.open(t)
		queue(t, st, newMessage("m1", t0))
		checkClaim(t, st, t0, lease, 10, "m1")
		checkClaim(t, st, t0, lease, 10)
		checkClaim(t, st, t0.Add(lease-time.Millisecond), lease, 10)
		checkClaim(t, st, t0.Add(lease), lease, 10, "m1")
		checkClaim(t, st, t0.Add(lease+time.Second), lease, 10)
	}},
	{"ClaimRespectsLimit", func(t *testing.T, s *suite) {
		st := s.open(t)
		for i := range 5 {
			queue(t, st, newMessage(fmt.Sprintf("m%d", i), t0))
		}
		total := 0
		for _, want := range []int{2, 2, 1, 0} {
			got := claim(t, st, t0, lease, 2)
			if len(got) != want {
				t.Errorf("ClaimOutbox(limit 2) returned %d messages, want %d", len(got), want)
			}
			total += len(got)
		}
		if total != 5 {
			t.Errorf("claimed %d messages in all, want 5", total)
		}
	}},
	{"PastNotAfterIsExpiredNotReturned", func(t *testing.T, s *suite) {
		st := s.open(t)
		m := newMessage("m1", t0)
		queue(t, st, m)
		checkClaim(t, st, m.NotAfter.Add(-time.Millisecond), lease, 10, "m1")
		// The lease ended and so did the message's use.
		checkClaim(t, st, m.NotAfter.Add(lease), lease, 10)
		got := message(t, st, "m1")
		if got.Status != store.OutboxExpired || got.Payload != nil {
			t.Errorf("after NotAfter: status %q, payload %q; want expired and no payload", got.Status, got.Payload)
		}

		m2 := newMessage("m2", t0)
		queue(t, st, m2)
		checkClaim(t, st, m2.NotAfter, lease, 10)
		if got := message(t, st, "m2"); got.Status != store.OutboxExpired || got.Payload != nil {
			t.Errorf("claimed at NotAfter: status %q, payload %q; want expired and no payload", got.Status, got.Payload)
		}
	}},
	{"ZeroNotAfterNeverExpires", func(t *testing.T, s *suite) {
		st := s.open(t)
		m := newMessage("m1", t0)
		m.NotAfter = time.Time{}
		queue(t, st, m)
		checkClaim(t, st, t0.Add(365*24*time.Hour), lease, 10, "m1")
	}},
	{"CompleteMarksSentAndDropsPayload", func(t *testing.T, s *suite) {
		st := s.open(t)
		queue(t, st, newMessage("m1", t0))
		checkClaim(t, st, t0, lease, 10, "m1")
		if err := st.CompleteOutbox(ctx(t), "m1", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		got := message(t, st, "m1")
		if got.Status != store.OutboxSent || got.Payload != nil {
			t.Errorf("status %q, payload %q; want sent and no payload", got.Status, got.Payload)
		}
		checkTime(t, "SentAt", got.SentAt, t0.Add(time.Second))
		checkClaim(t, st, t0.Add(time.Hour), lease, 10)
		if err := st.CompleteOutbox(ctx(t), "nope", t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("CompleteOutbox(unknown) = %v, want ErrNotFound", err)
		}
	}},
	{"CompleteManyMarksEachSentInOneCall", func(t *testing.T, s *suite) {
		st := s.open(t)
		// More than one statement's worth of ids in a backend that splits them.
		var ids []string
		for i := range 520 {
			id := fmt.Sprintf("m%03d", i)
			queue(t, st, newMessage(id, t0))
			ids = append(ids, id)
		}
		if got := claim(t, st, t0, lease, 1000); len(got) != len(ids) {
			t.Fatalf("claimed %d, want %d", len(got), len(ids))
		}
		done := append([]string{"nope"}, ids[:510]...) // an unknown id is skipped
		if err := st.CompleteOutboxMany(ctx(t), done, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"m000", "m499", "m500", "m509"} {
			got := message(t, st, id)
			if got.Status != store.OutboxSent || got.Payload != nil {
				t.Errorf("%s: status %q, payload %q; want sent and no payload", id, got.Status, got.Payload)
			}
			checkTime(t, id+" SentAt", got.SentAt, t0.Add(time.Second))
		}
		if got := message(t, st, "m510"); got.Status != store.OutboxPending || got.Payload == nil {
			t.Errorf("m510 (not completed): status %q, payload %q; want pending with its payload", got.Status, got.Payload)
		}
		// Only the ten left go out again after the lease.
		if got := claim(t, st, t0.Add(lease), lease, 1000); len(got) != 10 || got[0] != "m510" {
			t.Errorf("after the lease, claimed %v; want m510…m519", got)
		}
		if err := st.CompleteOutboxMany(ctx(t), nil, t0); err != nil {
			t.Errorf("CompleteOutboxMany(none) = %v", err)
		}
	}},
	{"RetrySchedulesTheNextAttempt", func(t *testing.T, s *suite) {
		st := s.open(t)
		queue(t, st, newMessage("m1", t0))
		checkClaim(t, st, t0, lease, 10, "m1")
		next := t0.Add(time.Minute)
		if err := st.RetryOutbox(ctx(t), "m1", "smtp: 421 try later", next, false); err != nil {
			t.Fatal(err)
		}
		got := message(t, st, "m1")
		if got.Attempts != 1 || got.LastError != "smtp: 421 try later" || got.Status != store.OutboxPending || string(got.Payload) != "sealed:m1" {
			t.Errorf("after RetryOutbox: %+v; want 1 attempt, the error, pending, payload kept", got)
		}
		checkTime(t, "NextAttempt", got.NextAttempt, next)
		checkClaim(t, st, next.Add(-time.Millisecond), lease, 10)
		checkClaim(t, st, next, lease, 10, "m1")
		if err := st.RetryOutbox(ctx(t), "nope", "x", next, false); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RetryOutbox(unknown) = %v, want ErrNotFound", err)
		}
	}},
	{"RetryGivingUpFails", func(t *testing.T, s *suite) {
		st := s.open(t)
		queue(t, st, newMessage("m1", t0))
		checkClaim(t, st, t0, lease, 10, "m1")
		if err := st.RetryOutbox(ctx(t), "m1", "first", t0.Add(time.Second), false); err != nil {
			t.Fatal(err)
		}
		if err := st.RetryOutbox(ctx(t), "m1", "smtp: 550 no such user", t0.Add(time.Minute), true); err != nil {
			t.Fatal(err)
		}
		got := message(t, st, "m1")
		if got.Status != store.OutboxFailed || got.Payload != nil || got.Attempts != 2 || got.LastError != "smtp: 550 no such user" {
			t.Errorf("after giving up: %+v; want failed, no payload, 2 attempts, the last error", got)
		}
		checkClaim(t, st, t0.Add(time.Hour), lease, 10)
	}},
	{"ConcurrentClaimersNeverShare", func(t *testing.T, s *suite) {
		st := s.open(t)
		const n = 40
		for i := range n {
			queue(t, st, newMessage(fmt.Sprintf("m%02d", i), t0))
		}
		claimed := make([][]string, workers)
		errs := make([]error, workers)
		parallel(workers, func(w int) {
			for {
				msgs, err := st.ClaimOutbox(ctx(t), t0, time.Hour, 3)
				if err != nil {
					errs[w] = err
					return
				}
				if len(msgs) == 0 {
					return
				}
				for _, m := range msgs {
					claimed[w] = append(claimed[w], m.ID)
				}
			}
		})
		seen := map[string]int{}
		for w := range workers {
			if errs[w] != nil {
				t.Errorf("claimer %d: %v", w, errs[w])
			}
			for _, id := range claimed[w] {
				seen[id]++
			}
		}
		if len(seen) != n {
			t.Errorf("claimed %d distinct messages, want %d", len(seen), n)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("message %s was claimed %d times", id, k)
			}
		}
	}},
}
