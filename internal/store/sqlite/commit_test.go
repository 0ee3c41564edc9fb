package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func openMigrated(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "sesame.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func insertBucket(ctx context.Context, tx *stmtTx, key string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO buckets (key, tokens, updated_at, full_at) VALUES (?, 1, 1, 1)`, key)
	return err
}

func bucketKeys(t *testing.T, s *Store) map[string]bool {
	t.Helper()
	rows, err := s.r.Query(`SELECT key FROM buckets`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	keys := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys[k] = true
	}
	return keys
}

// queued waits until n writes are queued behind the one running.
func queued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		s.gc.mu.Lock()
		got := len(s.gc.queue)
		s.gc.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", got, n)
		}
	}
}

// TestGroupCommit_EachWriteStandsAlone queues writes behind a running one:
// they commit as one group, yet a write that fails or panics after writing
// leaves nothing behind and does not take the others with it.
func TestGroupCommit_EachWriteStandsAlone(t *testing.T) {
	s := openMigrated(t)
	ctx := t.Context()
	release := make(chan struct{})
	started := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.write(ctx, func(tx *stmtTx) error {
			close(started)
			<-release
			return insertBucket(ctx, tx, "first")
		})
	}()
	<-started
	groups := s.gc.groups.Load()

	const n = 21
	errs := make([]error, n)
	panics := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			errs[i] = s.write(ctx, func(tx *stmtTx) error {
				if err := insertBucket(ctx, tx, fmt.Sprint("k", i)); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					return errors.New("refused")
				case 2:
					panic(fmt.Sprint("boom ", i))
				}
				return nil
			})
		})
		queued(t, s, i+1) // in order
	}
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first write: %v", err)
	}
	if got := s.gc.groups.Load() - groups; got != 1 {
		t.Errorf("the %d queued writes took %d commits, want 1", n, got)
	}
	keys := bucketKeys(t, s)
	if !keys["first"] {
		t.Error("the first write was not committed")
	}
	for i := range n {
		key := fmt.Sprint("k", i)
		switch i % 3 {
		case 0:
			if errs[i] != nil || panics[i] != nil || !keys[key] {
				t.Errorf("write %d: err %v, panic %v, committed %v; want committed", i, errs[i], panics[i], keys[key])
			}
		case 1:
			if errs[i] == nil || errs[i].Error() != "refused" || keys[key] {
				t.Errorf("write %d: err %v, committed %v; want its own error and nothing written", i, errs[i], keys[key])
			}
		case 2:
			if panics[i] != fmt.Sprint("boom ", i) || keys[key] {
				t.Errorf("write %d: panic %v, committed %v; want its own panic in its caller and nothing written", i, panics[i], keys[key])
			}
		}
	}
}

// TestGroupCommit_AbandonedWhileQueued: a caller whose context ends while
// its write waits gets its error at once, and the write never runs.
func TestGroupCommit_AbandonedWhileQueued(t *testing.T) {
	s := openMigrated(t)
	release := make(chan struct{})
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.write(t.Context(), func(tx *stmtTx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan error, 1)
	go func() {
		got <- s.write(ctx, func(tx *stmtTx) error { return insertBucket(ctx, tx, "late") })
	}()
	queued(t, s, 1)
	cancel()
	select {
	case err := <-got:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("abandoned write: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the abandoned write's caller still waits")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A later write runs after the group that dropped it.
	if err := s.write(t.Context(), func(tx *stmtTx) error { return insertBucket(t.Context(), tx, "after") }); err != nil {
		t.Fatal(err)
	}
	if keys := bucketKeys(t, s); keys["late"] || !keys["after"] {
		t.Errorf("buckets %v: want the abandoned write dropped and the later one committed", keys)
	}
}

// TestGroupCommit_RunningWriteIgnoresCancel: once a write runs, its
// caller's cancellation neither interrupts it nor changes its answer.
func TestGroupCommit_RunningWriteIgnoresCancel(t *testing.T) {
	s := openMigrated(t)
	ctx, cancel := context.WithCancel(t.Context())
	err := s.write(ctx, func(tx *stmtTx) error {
		cancel()
		time.Sleep(10 * time.Millisecond)
		return insertBucket(ctx, tx, "kept")
	})
	if err != nil {
		t.Fatalf("write cancelled while running: %v", err)
	}
	if !bucketKeys(t, s)["kept"] {
		t.Error("the write did not commit")
	}
}
