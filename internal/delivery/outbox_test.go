package delivery

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/sqlite"
)

// testOutbox is a real SQLite store that counts the worker's calls, so a
// test can see how completions are grouped.
type testOutbox struct {
	*sqlite.Store

	mu sync.Mutex
	// completeDelay makes every CompleteOutboxMany take this much longer,
	// as on a busy database.
	completeDelay time.Duration
	claims        int
	claimed       int        // messages leased, over all claims
	completes     [][]string // the ids of each CompleteOutboxMany
}

func newOutbox(t testing.TB) *testOutbox {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return &testOutbox{Store: st}
}

// add queues m the only way messages enter the outbox: with a code of its
// own.
func (o *testOutbox) add(t testing.TB, m store.OutboxMessage) {
	t.Helper()
	if m.Status == "" {
		m.Status = store.OutboxPending
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = m.NextAttempt
	}
	code := store.Code{
		ID: "code-" + m.ID, Connection: "email", Identifier: m.ID + "@example.test", CodeHMAC: []byte(m.ID),
		ClientID: "cli", Send: "code", CreatedAt: m.CreatedAt, ExpiresAt: m.CreatedAt.Add(time.Hour), MaxTries: 3,
	}
	if _, err := o.CreateCode(context.Background(), code, &m, nil); err != nil {
		t.Fatalf("queue %s: %v", m.ID, err)
	}
}

func (o *testOutbox) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxMessage, error) {
	msgs, err := o.Store.ClaimOutbox(ctx, now, lease, limit)
	o.mu.Lock()
	o.claims++
	o.claimed += len(msgs)
	o.mu.Unlock()
	return msgs, err
}

// claimedCount is how many messages were leased so far.
func (o *testOutbox) claimedCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.claimed
}

func (o *testOutbox) CompleteOutboxMany(ctx context.Context, ids []string, now time.Time) error {
	o.mu.Lock()
	o.completes = append(o.completes, append([]string(nil), ids...))
	delay := o.completeDelay
	o.mu.Unlock()
	time.Sleep(delay)
	return o.Store.CompleteOutboxMany(ctx, ids, now)
}

// completeCalls returns how many CompleteOutboxMany calls recorded how many
// ids.
func (o *testOutbox) completeCalls() (calls, ids int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.completes {
		ids += len(c)
	}
	return len(o.completes), ids
}
