package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sesame-id/sesame/internal/eventlog"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/telemetry"
)

// tracer starts a span per delivery attempt (internal/telemetry).
var tracer = telemetry.Tracer("sesame/delivery")

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
	CompleteOutboxMany(ctx context.Context, ids []string, now time.Time) error
	RetryOutbox(ctx context.Context, id string, lastErr string, next time.Time, giveUp bool) error
}

// Metrics is what the worker reports to the metrics, by provider kind
// (ProviderKind).
type Metrics interface {
	MessageSent(provider string)
	MessageRetried(provider string)
	MessageFailed(provider string)
}

// Worker delivers the messages queued in the store's outbox. Several
// workers (one per replica) may run against one database: ClaimOutbox
// leases each message to one of them.
//
// Run is a pipeline of three stages: a claimer that leases due messages
// whenever there is room for them (after a Kick, a poll, or a send that
// finished), Concurrency senders that each take the next claimed message,
// and a recorder that writes the sent ones to the store in groups, one
// transaction for all that finished while the previous one was written. A
// slow message holds up one sender, never the others.
//
// Delivery is at least once: a message whose send succeeded but whose
// completion could not be recorded is sent again after its lease expires.
type Worker struct {
	Store  Outbox
	Sealer *Sealer
	// Sender is asked for the current sender once per claim, so that a
	// tenant reload can swap the email provider under a running worker.
	Sender func() EmailSender
	Logger *slog.Logger     // nil: slog.Default()
	Now    func() time.Time // nil: time.Now
	// Events records the tenant log event of a message given up on (fn);
	// nil drops it.
	Events func(context.Context, store.Event) error
	// Metrics counts sends, retries and messages given up on; nil counts
	// nothing.
	Metrics Metrics

	PollInterval time.Duration // between looks at an outbox that had nothing due; default 1s
	Lease        time.Duration // how long a claimed message is ours; default 60s
	MaxAttempts  int           // sends tried before a message fails; default 8
	// Backoff is the wait after failed attempt number attempt (1-based).
	// Default: DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// Concurrency is how many messages are sent at once; default
	// DefaultConcurrency. The worker holds at most twice as many claimed:
	// one being sent by each sender, and one waiting for each.
	Concurrency int
	// BatchSize is the most messages one claim leases; default
	// Concurrency. RunOnce claims one such batch.
	BatchSize int
	// Drain is how long, once Run's context is done, the sends of the
	// messages in hand may go on, so that a shutdown finishes them rather
	// than leaving them to another worker after their lease; default 10s.
	// What is not sent by then stays claimed until the lease runs out.
	Drain time.Duration

	// AdmitLag is how far behind the worker may fall before Admit holds
	// new messages back; default DefaultAdmitLag, negative: never.
	AdmitLag time.Duration
	// AdmitWait is the longest Admit holds one back; default
	// DefaultAdmitWait.
	AdmitWait time.Duration

	kickOnce sync.Once
	kick     chan struct{}

	// What Admit reads: behindSince is when the newest message of the last
	// claim that was full (so that more were waiting) was queued, in unix
	// nanoseconds, or 0 when the last claim took every due message;
	// lastSent is when a send last ended. progress is closed and replaced
	// after every claim, to wake the waiting Admits.
	behindSince atomic.Int64
	lastSent    atomic.Int64
	progressMu  sync.Mutex
	progress    chan struct{}
}

// DefaultAdmitLag and DefaultAdmitWait are the defaults of AdmitLag and
// AdmitWait.
const (
	DefaultAdmitLag  = 100 * time.Millisecond
	DefaultAdmitWait = 2 * time.Second
)

// Admit is called before a message is queued. While the outbox is more
// than AdmitLag behind (its oldest waiting message was queued longer ago
// than that) and the worker is sending (a send ended in the last 100 ms),
// Admit waits for it to catch up, at most AdmitWait: messages queued faster
// than they can go out then slow down to the pace of delivery, instead of
// growing the outbox without bound and every message's time to inbox with
// it. When the worker is not sending at all (its provider is down, or no
// Run is going), waiting would not help and Admit returns at once: the
// message is queued and goes out when the provider is back.
func (w *Worker) Admit(ctx context.Context) {
	lag := cmp.Or(w.AdmitLag, DefaultAdmitLag)
	if lag < 0 {
		return
	}
	var deadline <-chan time.Time
	for {
		ch := w.progressCh()
		// behindSince is on the worker's clock (the messages' CreatedAt),
		// lastSent on the real one.
		since, sent := w.behindSince.Load(), w.lastSent.Load()
		if since == 0 || w.now().UnixNano()-since <= int64(lag) || time.Now().UnixNano()-sent > int64(100*time.Millisecond) {
			return
		}
		if deadline == nil {
			t := time.NewTimer(cmp.Or(w.AdmitWait, DefaultAdmitWait))
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		case <-deadline:
			return
		}
	}
}

func (w *Worker) progressCh() chan struct{} {
	w.progressMu.Lock()
	defer w.progressMu.Unlock()
	if w.progress == nil {
		w.progress = make(chan struct{})
	}
	return w.progress
}

// claimed records what a claim found for Admit and wakes its waiters.
func (w *Worker) claimed(msgs []job, full bool) {
	if full && len(msgs) > 0 {
		newest := msgs[0].m.CreatedAt
		for _, j := range msgs[1:] {
			if j.m.CreatedAt.After(newest) {
				newest = j.m.CreatedAt
			}
		}
		w.behindSince.Store(newest.UnixNano())
	} else {
		w.behindSince.Store(0)
	}
	w.progressMu.Lock()
	if w.progress != nil {
		close(w.progress)
		w.progress = nil
	}
	w.progressMu.Unlock()
}

// DefaultConcurrency is how many messages a Worker sends at once unless
// told otherwise.
const DefaultConcurrency = 16

// maxGroup bounds how many completions go into one store transaction.
const maxGroup = 256

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

// job is a claimed message on its way to a sender.
type job struct {
	m        store.OutboxMessage
	sender   EmailSender
	deadline time.Time // the send must end by then, well before the lease does
}

// Run delivers messages until ctx is done, lets the messages in hand go out
// for at most Drain, records what was sent, and returns nil. Store errors
// are logged and retried at the next poll; only a worker that is missing
// its Store, Sealer or Sender fails.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.check(); err != nil {
		return err
	}
	conc := w.concurrency()
	var (
		jobs   = make(chan job, 2*conc) // never full: the claimer leases only what fits
		freed  = make(chan struct{}, 1) // a send ended: there may be room to claim
		sent   = make(chan string, 2*conc)
		inHand atomic.Int64 // claimed and not yet sent or given up
	)

	// Sends outlive ctx by the drain time: a shutdown stops the claiming,
	// not the messages in hand.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	stopDrain := context.AfterFunc(ctx, func() { time.AfterFunc(w.drain(), cancelSends) })
	defer stopDrain()

	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		w.record(sent)
	}()
	var senders sync.WaitGroup
	for range conc {
		senders.Go(func() {
			for j := range jobs {
				// Drained: the rest stay claimed until the lease runs out,
				// then any worker picks them up again.
				if sendCtx.Err() == nil {
					done, err := w.deliver(sendCtx, j)
					w.lastSent.Store(time.Now().UnixNano())
					if err != nil {
						w.logger().LogAttrs(ctx, slog.LevelWarn, "delivery: outbox", slog.Any("error", err))
					}
					if done {
						sent <- j.m.ID
					}
				}
				inHand.Add(-1)
				select {
				case freed <- struct{}{}:
				default:
				}
			}
		})
	}

	timer := time.NewTimer(w.pollInterval())
	defer timer.Stop()
	for ctx.Err() == nil {
		room := 2*conc - int(inHand.Load())
		full := room <= 0
		if !full {
			want := min(room, w.batchSize())
			msgs, err := w.claim(ctx, want)
			if err == nil {
				w.claimed(msgs, len(msgs) == want)
			}
			switch {
			case err != nil && ctx.Err() == nil:
				w.logger().LogAttrs(ctx, slog.LevelWarn, "delivery: outbox", slog.Any("error", err))
			case len(msgs) > 0:
				inHand.Add(int64(len(msgs)))
				for _, j := range msgs {
					jobs <- j
				}
				if len(msgs) == want {
					continue // more are probably waiting
				}
			}
		}
		// Wait for something to claim, or, when our hands are full, for room.
		var room2 chan struct{}
		if full {
			room2 = freed
		}
		timer.Reset(w.pollInterval())
		select {
		case <-ctx.Done():
		case <-w.kickCh():
		case <-timer.C:
		case <-room2:
		}
	}
	close(jobs)
	senders.Wait()
	close(sent)
	<-recorded
	return nil
}

// RunOnce claims one batch of due messages, sends them, Concurrency at a
// time, and records the outcomes. It returns how many were sent; failed
// sends are recorded in the store (and are not errors of RunOnce), store
// failures are.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	if err := w.check(); err != nil {
		return 0, err
	}
	jobs, err := w.claim(ctx, w.batchSize())
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		done     []string
		sent     int
		slots    = make(chan struct{}, w.concurrency())
	)
	for _, j := range jobs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			ok, err := w.deliver(ctx, j)
			mu.Lock()
			defer mu.Unlock()
			firstErr = cmp.Or(firstErr, err)
			if ok {
				done = append(done, j.m.ID)
				if j.m.Kind != KindSuppressed {
					sent++
				}
			}
		})
	}
	wg.Wait()
	if err := w.complete(done); err != nil {
		return 0, cmp.Or(firstErr, err)
	}
	return sent, firstErr
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

// claim leases up to limit due messages, each with the sender to use and
// the time its send must end by.
func (w *Worker) claim(ctx context.Context, limit int) ([]job, error) {
	lease := w.lease()
	// Sends must end well before the lease does, or another replica could
	// claim the message again while we are still sending it.
	deadline := time.Now().Add(lease - lease/10)
	msgs, err := w.Store.ClaimOutbox(ctx, w.now(), lease, limit)
	if err != nil {
		return nil, fmt.Errorf("delivery: claim outbox: %w", err)
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	sender := w.Sender()
	jobs := make([]job, len(msgs))
	for i, m := range msgs {
		jobs[i] = job{m: m, sender: sender, deadline: deadline}
	}
	return jobs, nil
}

// record writes the ids that come from sent to the store in groups: each
// transaction takes every id that arrived while the previous one ran. It
// returns when sent is closed and everything in it is written.
func (w *Worker) record(sent <-chan string) {
	for id := range sent {
		ids := []string{id}
	more:
		for len(ids) < maxGroup {
			select {
			case id, ok := <-sent:
				if !ok {
					break more
				}
				ids = append(ids, id)
			default:
				break more
			}
		}
		if err := w.complete(ids); err != nil {
			w.logger().Warn("delivery: outbox", "error", err, "messages", len(ids))
		}
	}
}

// complete records ids as sent, even while shutting down, or they would be
// sent again.
func (w *Worker) complete(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Store.CompleteOutboxMany(ctx, ids, w.now()); err != nil {
		return fmt.Errorf("delivery: record %d sent messages (they go out again after their lease): %w", len(ids), err)
	}
	return nil
}

// errPermanent marks a failure that no retry can fix.
var errPermanent = errors.New("permanent failure")

// deliver sends one claimed message, or records its failed attempt. It
// reports done when the message is to be recorded as done: it went out, or
// it was suppressed (dropped). It returns an error only when the store
// could not record a failed attempt.
func (w *Worker) deliver(ctx context.Context, j job) (done bool, err error) {
	m := j.m
	attempt := m.Attempts + 1
	// A root span per attempt: the start that queued the message answered
	// long ago (the outbox keeps no trace context).
	ctx, span := tracer.Start(ctx, "delivery.send", trace.WithNewRoot(), trace.WithAttributes(
		attribute.String("sesame.kind", m.Kind), attribute.Int("sesame.attempt", attempt)))
	defer func() {
		span.SetAttributes(attribute.Bool("sesame.sent", done))
		if err != nil {
			span.SetStatus(codes.Error, "failed")
		}
		span.End()
	}()
	attrs := []slog.Attr{slog.String("id", m.ID), slog.String("kind", m.Kind), slog.Int("attempt", attempt)}
	if time.Now().After(j.deadline) {
		return false, nil // lease nearly gone; leave it for the next claim
	}

	sendErr := w.send(ctx, j.deadline, j.sender, m)
	if sendErr != nil && ctx.Err() != nil && !errors.Is(sendErr, errPermanent) {
		// Shutting down: not the message's fault, so no attempt is
		// counted. It goes out after the lease expires.
		return false, nil
	}
	if sendErr == nil {
		if m.Kind == KindSuppressed {
			w.logger().LogAttrs(ctx, slog.LevelDebug, "delivery: suppressed message dropped", attrs...)
		} else {
			w.logger().LogAttrs(ctx, slog.LevelInfo, "delivery: message sent", attrs...)
			if w.Metrics != nil {
				w.Metrics.MessageSent(ProviderKind(j.sender))
			}
		}
		return true, nil
	}

	// Record the outcome even while shutting down.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
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
	if w.Metrics != nil {
		if giveUp {
			w.Metrics.MessageFailed(ProviderKind(j.sender))
		} else {
			w.Metrics.MessageRetried(ProviderKind(j.sender))
		}
	}
	if giveUp && w.Events != nil {
		// The provider's answer stays in the outbox row and the process
		// log: it could quote the message, which the tenant log never
		// holds.
		reason := "retries exhausted"
		if errors.Is(sendErr, errPermanent) {
			reason = "permanent failure"
		}
		_ = w.Events(sctx, store.Event{Type: eventlog.TypeFailedNotification,
			Description: "Failed to send " + m.Kind + " notification (" + reason + ")", Identifier: m.Recipient,
			Details: eventlog.Details(map[string]any{"message_id": m.ID, "kind": m.Kind, "attempts": attempt})})
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
func (w *Worker) batchSize() int              { return orDefault(w.BatchSize, w.concurrency()) }
func (w *Worker) drain() time.Duration        { return orDefault(w.Drain, 10*time.Second) }
func (w *Worker) concurrency() int            { return orDefault(w.Concurrency, DefaultConcurrency) }

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
