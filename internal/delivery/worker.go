package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// Outbox message kinds this package understands.
const (
	KindEmail = "email"
	// KindSuppressed is a message that must never be sent: a start that
	// sends nothing (disable_signup, an address that is no user's) queues
	// one, so that it does the same work as a start that sends. The
	// worker drops it.
	KindSuppressed = "suppressed"
)

// Outbox is the part of the store the worker uses.
type Outbox interface {
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxMessage, error)
	CompleteOutbox(ctx context.Context, id string, now time.Time) error
	RetryOutbox(ctx context.Context, id string, lastErr string, next time.Time, giveUp bool) error
}

// Worker delivers the messages queued in the store's outbox. Several
// workers (one per replica) may run against one database: ClaimOutbox
// leases each message to one of them.
//
// Delivery is at least once: a message whose send succeeded but whose
// completion could not be recorded is sent again after its lease expires.
type Worker struct {
	Store  Outbox
	Sealer *Sealer
	// Sender is asked for the current sender once per batch, so that a
	// tenant reload can swap the email provider under a running worker.
	Sender func() EmailSender
	Logger *slog.Logger     // nil: slog.Default()
	Now    func() time.Time // nil: time.Now

	PollInterval time.Duration // between looks at the outbox; default 1s
	Lease        time.Duration // how long a claimed batch is ours; default 60s
	MaxAttempts  int           // sends tried before a message fails; default 8
	// Backoff is the wait after failed attempt number attempt (1-based).
	// Default: DefaultBackoff.
	Backoff     func(attempt int) time.Duration
	BatchSize   int // messages claimed at once; default 16
	Concurrency int // messages sent at once; default 4
	// Drain is how long, once Run's context is done, the sends of the
	// batch in hand may go on, so that a shutdown finishes them rather
	// than leaving them to another worker after their lease; default 10s.
	// What is not sent by then stays claimed until the lease runs out.
	Drain time.Duration

	kickOnce sync.Once
	kick     chan struct{}
}

// DefaultBackoff waits about 1s, 2s, 4s, … after each failed attempt, at
// most 5 minutes, with random jitter in [d/2, d) so that replicas that
// failed together do not retry together.
func DefaultBackoff(attempt int) time.Duration {
	d := min(time.Second<<min(max(attempt-1, 0), 9), 5*time.Minute)
	return d/2 + rand.N(d/2)
}

// Kick wakes a waiting Run at once, so that a message queued by
// /passwordless/start goes out in milliseconds rather than after a poll.
// It never blocks.
func (w *Worker) Kick() {
	select {
	case w.kickCh() <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func (w *Worker) kickCh() chan struct{} {
	w.kickOnce.Do(func() { w.kick = make(chan struct{}, 1) })
	return w.kick
}

// Run delivers messages until ctx is done, then returns nil. Store errors
// are logged and retried at the next poll; only a worker that is missing
// its Store, Sealer or Sender fails.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.check(); err != nil {
		return err
	}
	timer := time.NewTimer(w.pollInterval())
	defer timer.Stop()
	for {
		claimed, _, err := w.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			w.logger().LogAttrs(ctx, slog.LevelWarn, "delivery: outbox", slog.Any("error", err))
		} else if claimed >= w.batchSize() {
			continue // a full batch: more are probably waiting
		}
		timer.Reset(w.pollInterval())
		select {
		case <-ctx.Done():
			return nil
		case <-w.kickCh():
		case <-timer.C:
		}
	}
}

// RunOnce claims one batch of due messages and tries to send each of them.
// It returns how many were sent; failed sends are recorded in the store
// (and are not errors of RunOnce), store failures are.
func (w *Worker) RunOnce(ctx context.Context) (sent int, err error) {
	if err := w.check(); err != nil {
		return 0, err
	}
	_, sent, err = w.runOnce(ctx)
	return sent, err
}

func (w *Worker) check() error {
	switch {
	case w.Store == nil:
		return errors.New("delivery: worker has no store")
	case w.Sealer == nil:
		return errors.New("delivery: worker has no sealer")
	case w.Sender == nil:
		return errors.New("delivery: worker has no sender")
	}
	return nil
}

func (w *Worker) runOnce(ctx context.Context) (claimed, sent int, err error) {
	lease := w.lease()
	// Sends must end well before the lease does, or another replica could
	// claim the message again while we are still sending it.
	deadline := time.Now().Add(lease - lease/10)
	msgs, err := w.Store.ClaimOutbox(ctx, w.now(), lease, w.batchSize())
	if err != nil {
		return 0, 0, fmt.Errorf("delivery: claim outbox: %w", err)
	}
	if len(msgs) == 0 {
		return 0, 0, nil
	}
	sender := w.Sender()

	// Sends outlive ctx by the drain time: a shutdown stops the claiming,
	// not the batch in hand.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	stopDrain := context.AfterFunc(ctx, func() { time.AfterFunc(w.drain(), cancelSends) })
	defer stopDrain()

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		slots    = make(chan struct{}, w.concurrency())
	)
	for _, m := range msgs {
		select {
		case slots <- struct{}{}:
		case <-sendCtx.Done():
			// Drained: the rest stay claimed until the lease runs out,
			// then any worker picks them up again.
		}
		if sendCtx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			ok, err := w.deliver(sendCtx, deadline, sender, m)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				sent++
			}
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	return len(msgs), sent, firstErr
}

// errPermanent marks a failure that no retry can fix.
var errPermanent = errors.New("permanent failure")

// deliver sends one claimed message and records the outcome. It returns
// whether the message was sent, and an error only when the store could not
// record the outcome.
func (w *Worker) deliver(ctx context.Context, deadline time.Time, sender EmailSender, m store.OutboxMessage) (bool, error) {
	attempt := m.Attempts + 1
	attrs := []slog.Attr{slog.String("id", m.ID), slog.String("kind", m.Kind), slog.Int("attempt", attempt)}
	if time.Now().After(deadline) {
		return false, nil // lease nearly gone; leave it for the next claim
	}

	sendErr := w.send(ctx, deadline, sender, m)
	if sendErr != nil && ctx.Err() != nil && !errors.Is(sendErr, errPermanent) {
		// Shutting down: not the message's fault, so no attempt is
		// counted. It goes out after the lease expires.
		return false, nil
	}

	// Record the outcome even while shutting down, or a sent message would
	// be sent again.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if sendErr == nil {
		if err := w.Store.CompleteOutbox(sctx, m.ID, w.now()); err != nil {
			return true, fmt.Errorf("delivery: complete outbox message %s: %w", m.ID, err)
		}
		if m.Kind == KindSuppressed {
			w.logger().LogAttrs(ctx, slog.LevelDebug, "delivery: suppressed message dropped", attrs...)
			return false, nil
		}
		w.logger().LogAttrs(ctx, slog.LevelInfo, "delivery: message sent", attrs...)
		return true, nil
	}

	giveUp := errors.Is(sendErr, errPermanent) || attempt >= w.maxAttempts()
	next := w.now().Add(w.backoff(attempt))
	lastErr := sendErr.Error()
	if len(lastErr) > 1000 {
		lastErr = lastErr[:1000]
	}
	attrs = append(attrs, slog.String("error", lastErr), slog.Bool("give_up", giveUp))
	if !giveUp {
		attrs = append(attrs, slog.Time("next_attempt", next))
	}
	w.logger().LogAttrs(ctx, slog.LevelWarn, "delivery: send failed", attrs...)
	if err := w.Store.RetryOutbox(sctx, m.ID, lastErr, next, giveUp); err != nil {
		return false, fmt.Errorf("delivery: record failed attempt of outbox message %s: %w", m.ID, err)
	}
	return false, nil
}

func (w *Worker) send(ctx context.Context, deadline time.Time, sender EmailSender, m store.OutboxMessage) (err error) {
	if m.Kind == KindSuppressed {
		return nil // dropped: recorded as done, its payload forgotten
	}
	if m.Kind != KindEmail {
		return fmt.Errorf("%w: no sender for message kind %q", errPermanent, m.Kind)
	}
	e, err := w.Sealer.Open(m.Payload)
	if err != nil {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	if sender == nil {
		return errors.New("delivery: no email sender configured")
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("delivery: email sender panicked: %v", p)
		}
	}()
	return sender.SendEmail(ctx, e)
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

func (w *Worker) backoff(attempt int) time.Duration {
	if w.Backoff != nil {
		return w.Backoff(attempt)
	}
	return DefaultBackoff(attempt)
}

func (w *Worker) pollInterval() time.Duration { return orDefault(w.PollInterval, time.Second) }
func (w *Worker) lease() time.Duration        { return orDefault(w.Lease, 60*time.Second) }
func (w *Worker) maxAttempts() int            { return orDefault(w.MaxAttempts, 8) }
func (w *Worker) batchSize() int              { return orDefault(w.BatchSize, 16) }
func (w *Worker) drain() time.Duration        { return orDefault(w.Drain, 10*time.Second) }
func (w *Worker) concurrency() int            { return orDefault(w.Concurrency, 4) }

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
