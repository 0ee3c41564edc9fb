package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// fakeStore keeps an outbox in memory with the semantics the Store
// interface documents; every other method panics (it is nil-embedded).
type fakeStore struct {
	store.Store

	mu     sync.Mutex
	msgs   map[string]*store.OutboxMessage
	leases map[string]time.Time
	order  []string
}

func newFakeStore() *fakeStore {
	return &fakeStore{msgs: map[string]*store.OutboxMessage{}, leases: map[string]time.Time{}}
}

func (f *fakeStore) add(m store.OutboxMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m.Status == "" {
		m.Status = store.OutboxPending
	}
	f.msgs[m.ID] = &m
	f.order = append(f.order, m.ID)
}

func (f *fakeStore) ClaimOutbox(_ context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.OutboxMessage
	for _, id := range f.order {
		m := f.msgs[id]
		if m.Status != store.OutboxPending || m.NextAttempt.After(now) || f.leases[id].After(now) {
			continue
		}
		if !m.NotAfter.IsZero() && !now.Before(m.NotAfter) {
			m.Status, m.Payload = store.OutboxExpired, nil
			continue
		}
		if len(out) == limit {
			break
		}
		f.leases[id] = now.Add(lease)
		out = append(out, *m)
	}
	return out, nil
}

func (f *fakeStore) CompleteOutbox(_ context.Context, id string, now time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.msgs[id]
	if !ok {
		return store.ErrNotFound
	}
	m.Status, m.Payload, m.SentAt = store.OutboxSent, nil, now
	delete(f.leases, id)
	return nil
}

func (f *fakeStore) RetryOutbox(_ context.Context, id string, lastErr string, next time.Time, giveUp bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.msgs[id]
	if !ok {
		return store.ErrNotFound
	}
	m.Attempts++
	m.LastError, m.NextAttempt = lastErr, next
	if giveUp {
		m.Status, m.Payload = store.OutboxFailed, nil
	}
	delete(f.leases, id)
	return nil
}

func (f *fakeStore) OutboxMessage(_ context.Context, id string) (store.OutboxMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.msgs[id]
	if !ok {
		return store.OutboxMessage{}, store.ErrNotFound
	}
	return *m, nil
}
