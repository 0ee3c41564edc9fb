package sqlite

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// Group commit. SQLite has one writer: every write transaction of every
// request waits for the one before it, and each pays for its own BEGIN and
// COMMIT and writes its own copy of every page it touched to the WAL, even
// the pages the next transaction touches again (the tail of the codes and
// outbox tables, their time indexes, the caller's rate-limit bucket). So
// the writes that queue while a transaction runs are run together in the
// next one, each inside a savepoint of its own: a write that fails rolls
// back to its savepoint and fails alone, and the others commit together.
// Nothing waits on purpose to fill a group: a write that finds the writer
// idle runs at once, alone.
//
// What a caller sees does not change: write returns once its changes are
// committed (or failed), in the order its caller asked, and a write that
// fails leaves nothing behind. A caller whose context ends, or who waited
// busyTimeout, while its write is still queued gets its error and the write
// is dropped; once the write runs it runs to its end (its statements ignore
// the caller's context), so that an answer never depends on a race with a
// cancellation.

// maxGroup bounds the writes committed together, so that one commit does
// not hold the first of them for long.
const maxGroup = 64

const (
	opQueued int32 = iota
	opRunning
	opAbandoned
)

type writeOp struct {
	fn    func(tx *stmtTx) error
	state atomic.Int32
	done  chan writeResult // buffered: the committer never waits for the caller
}

type writeResult struct {
	err      error
	panicked bool
	panicVal any
}

type groupCommit struct {
	mu       sync.Mutex
	queue    []*writeOp
	draining bool // a goroutine is running drain
	groups   atomic.Int64
}

// write runs fn in a BEGIN IMMEDIATE transaction on the writer connection,
// possibly together with other writes (see above), and commits when fn
// returns nil. Domain outcomes that must still commit (a counted wrong try,
// a revoked family) are returned by fn's caller through a captured variable,
// not as fn's error. A panic in fn rolls fn back and is raised again in the
// caller's goroutine.
//
// A write waits at most busyTimeout for its turn (other writes queue for
// the writer, and SQLite's lock may be held by another process); past that
// it fails with store.ErrUnavailable, so that requests piling up behind a
// database locked from outside each get their answer in time.
func (s *Store) write(ctx context.Context, fn func(tx *stmtTx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, end := startSpan(ctx, "sqlite.write")
	defer func() { end(err) }()
	op := &writeOp{fn: fn, done: make(chan writeResult, 1)}
	s.gc.mu.Lock()
	s.gc.queue = append(s.gc.queue, op)
	if !s.gc.draining {
		s.gc.draining = true
		go s.drain()
	}
	s.gc.mu.Unlock()

	timer := time.NewTimer(busyTimeout)
	defer timer.Stop()
	var r writeResult
	select {
	case r = <-op.done:
	case <-ctx.Done():
		if op.state.CompareAndSwap(opQueued, opAbandoned) {
			return ctx.Err()
		}
		r = <-op.done // it runs: its outcome is the answer
	case <-timer.C:
		if op.state.CompareAndSwap(opQueued, opAbandoned) {
			return fmt.Errorf("%w: waited %v for the write lock", store.ErrUnavailable, busyTimeout)
		}
		r = <-op.done
	}
	if r.panicked {
		panic(r.panicVal)
	}
	return r.err
}

// drain commits the queued writes, up to maxGroup at a time, until none is
// left.
func (s *Store) drain() {
	for {
		s.gc.mu.Lock()
		n := min(len(s.gc.queue), maxGroup)
		if n == 0 {
			s.gc.queue = nil // let the backing array go
			s.gc.draining = false
			s.gc.mu.Unlock()
			return
		}
		group := make([]*writeOp, n)
		copy(group, s.gc.queue)
		s.gc.queue = s.gc.queue[n:]
		s.gc.mu.Unlock()
		s.commitGroup(group)
	}
}

// commitGroup runs the writes of group that are still wanted in one
// transaction and tells each its outcome.
func (s *Store) commitGroup(group []*writeOp) {
	live := group[:0]
	for _, op := range group {
		if op.state.Load() == opQueued {
			live = append(live, op)
		}
	}
	if len(live) == 0 {
		return
	}
	s.gc.groups.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), busyTimeout)
	defer cancel()
	results := make([]writeResult, len(live))
	running := make([]bool, len(live))
	finish := func(txErr error) {
		for i, op := range live {
			switch {
			case !running[i]:
				if !op.state.CompareAndSwap(opQueued, opRunning) {
					continue // abandoned meanwhile: no one waits
				}
				op.done <- writeResult{err: txErr}
			case txErr != nil && results[i].err == nil && !results[i].panicked:
				op.done <- writeResult{err: txErr}
			default:
				op.done <- results[i]
			}
		}
	}

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		if ctx.Err() != nil {
			// The lock was held (by another process) for all of
			// busyTimeout: the writes fail as unavailable, as their
			// callers' own timers would have said a moment later.
			err = fmt.Errorf("%w: waited %v for the write lock: %w", store.ErrUnavailable, busyTimeout, err)
		}
		finish(unavailable(err))
		return
	}
	defer tx.Rollback()
	stx := &stmtTx{Tx: tx, cache: s.ws, ctx: ctx}
	alone := len(live) == 1
	for i, op := range live {
		if !op.state.CompareAndSwap(opQueued, opRunning) {
			continue // its caller gave up before it ran
		}
		running[i] = true
		if !alone {
			if _, err := stx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				finish(unavailable(err))
				return
			}
		}
		results[i] = runWrite(op.fn, stx)
		if results[i].err != nil {
			results[i].err = unavailable(results[i].err)
		}
		switch failed := results[i].err != nil || results[i].panicked; {
		case alone && failed:
			finish(nil) // tx.Rollback, deferred, undoes it
			return
		case alone:
		case failed:
			if _, err := stx.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
				finish(unavailable(err)) // the transaction is lost: so are the others' writes
				return
			}
			fallthrough
		default:
			if _, err := stx.ExecContext(ctx, "RELEASE w"); err != nil {
				finish(unavailable(err))
				return
			}
		}
	}
	err = tx.Commit()
	s.ws.prepare(ctx)
	finish(unavailable(err))
}

// runWrite calls fn, turning a panic into a result.
func runWrite(fn func(tx *stmtTx) error, tx *stmtTx) (r writeResult) {
	defer func() {
		if v := recover(); v != nil {
			r = writeResult{panicked: true, panicVal: v}
		}
	}()
	return writeResult{err: fn(tx)}
}
