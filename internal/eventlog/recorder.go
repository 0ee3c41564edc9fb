package eventlog

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// Adder is the part of the store a Recorder writes to.
type Adder interface {
	AddEvents(ctx context.Context, events ...store.Event) error
}

// DefaultBuffer is how many events a Recorder holds before it drops new
// ones.
const DefaultBuffer = 4096

// maxBatch is the most events one transaction writes.
const maxBatch = 256

// ErrDropped is Record's answer when the buffer is full: the event was not
// recorded (and the drop was logged).
var ErrDropped = errors.New("eventlog: buffer full, event dropped")

// Recorder writes events in batches from one goroutine (Run), so that
// recording costs a request no transaction and no wait.
type Recorder struct {
	Store  Adder
	Logger *slog.Logger     // nil: slog.Default()
	Now    func() time.Time // nil: time.Now
	// Buffer is how many events wait at most; default DefaultBuffer.
	Buffer int

	once  sync.Once
	queue chan item

	mu         sync.Mutex
	lastDropAt time.Time
	dropped    int
}

// item is an event to write, or (done set) a flush that waits for
// everything queued before it.
type item struct {
	e    store.Event
	done chan struct{}
}

func (r *Recorder) init() {
	r.once.Do(func() {
		n := r.Buffer
		if n <= 0 {
			n = DefaultBuffer
		}
		r.queue = make(chan item, n)
	})
}

func (r *Recorder) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r *Recorder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Record queues e, with an ID and the time now unless it has them. It never
// waits: with the buffer full the event is dropped, the drop logged (at
// most once a minute, with the number dropped) and the error ErrDropped.
func (r *Recorder) Record(_ context.Context, e store.Event) error {
	r.init()
	if err := Stamp(&e, r.now()); err != nil {
		return err
	}
	select {
	case r.queue <- item{e: e}:
		return nil
	default:
	}
	r.mu.Lock()
	r.dropped++
	var n int
	if now := time.Now(); now.Sub(r.lastDropAt) >= time.Minute {
		n, r.dropped, r.lastDropAt = r.dropped, 0, now
	}
	r.mu.Unlock()
	if n > 0 {
		r.logger().Warn("tenant log: the event buffer is full, events dropped", "dropped", n, "type", e.Type)
	}
	return ErrDropped
}

// Flush waits until every event queued before it was written (or failed to
// be, which is logged), or until ctx is done.
func (r *Recorder) Flush(ctx context.Context) error {
	r.init()
	done := make(chan struct{})
	select {
	case r.queue <- item{done: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run writes queued events until ctx is done, then writes what is still
// queued and returns. Each batch is what was queued while the previous one
// was written, up to maxBatch events, in one transaction.
func (r *Recorder) Run(ctx context.Context) {
	r.init()
	for {
		select {
		case it := <-r.queue:
			r.write(it)
		case <-ctx.Done():
			for {
				select {
				case it := <-r.queue:
					r.write(it)
				default:
					return
				}
			}
		}
	}
}

// write writes first and whatever else is queued, up to maxBatch events,
// and then releases the flushes among them.
func (r *Recorder) write(first item) {
	var (
		batch   []store.Event
		flushes []chan struct{}
	)
	add := func(it item) {
		if it.done != nil {
			flushes = append(flushes, it.done)
		} else {
			batch = append(batch, it.e)
		}
	}
	add(first)
more:
	for len(batch) < maxBatch {
		select {
		case it := <-r.queue:
			add(it)
		default:
			break more
		}
	}
	if len(batch) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := r.Store.AddEvents(ctx, batch...); err != nil {
			r.logger().Warn("tenant log: events not recorded", "events", len(batch), "err", err)
		}
		cancel()
	}
	for _, f := range flushes {
		close(f)
	}
}
