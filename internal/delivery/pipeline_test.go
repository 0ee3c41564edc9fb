package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/smtptest"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// pipeline is a Worker running against a real SQLite outbox and a real
// SMTP server, in real time.
type pipeline struct {
	w    *Worker
	st   *testOutbox
	sink *smtptest.Server
	smtp *SMTPSender
	stop func() // cancels Run and waits for it
}

func startPipeline(t *testing.T, concurrency int, configure func(*Worker)) *pipeline {
	t.Helper()
	sink := smtptest.Start(t)
	host, port, _ := net.SplitHostPort(sink.Addr)
	p, _ := strconv.Atoi(port)
	sender, err := NewSMTPSender(&tenant.EmailProvider{Credentials: tenant.EmailCredentials{SMTPHost: host, SMTPPort: p}},
		SMTPOptions{Timeout: 10 * time.Second, MaxIdle: concurrency})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Close() })
	pl := &pipeline{st: newOutbox(t), sink: sink, smtp: sender}
	pl.w = &Worker{
		Store: pl.st, Sealer: testSealer(t), Sender: func() EmailSender { return sender },
		Logger: slog.New(slog.DiscardHandler), Concurrency: concurrency, PollInterval: time.Hour,
	}
	if configure != nil {
		configure(pl.w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pl.w.Run(ctx) }()
	pl.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return")
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			pl.stop()
		}
	})
	return pl
}

// queue puts a sealed email to <id>@example.test in the outbox and kicks
// the worker, as /passwordless/start does.
func (pl *pipeline) queue(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		payload, err := pl.w.Sealer.Seal(Email{From: "Acme <login@acme.test>", To: id + "@example.test", Subject: "Your code", Text: "Your code is 123456\n"})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		pl.st.add(t, store.OutboxMessage{ID: id, Kind: KindEmail, Recipient: id + "@example.test", Payload: payload,
			NotAfter: now.Add(time.Hour), NextAttempt: now, CreatedAt: now})
		pl.w.Kick()
	}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

// waitSent waits until the store has every id recorded as sent.
func (pl *pipeline) waitSent(t *testing.T, ids []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range ids {
		for {
			m, err := pl.st.OutboxMessage(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if m.Status == store.OutboxSent {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is still %s", id, m.Status)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func TestWorker_ManyMessagesReuseOneSessionPerSender(t *testing.T) {
	const concurrency, n = 4, 200
	pl := startPipeline(t, concurrency, nil)
	all := ids("m", n)
	pl.queue(t, all...)
	pl.sink.Wait(t, n, 20*time.Second)
	pl.waitSent(t, all)
	if s := pl.sink.Sessions(); s > concurrency {
		t.Errorf("%d messages took %d SMTP sessions, want at most %d (one per sender)", n, s, concurrency)
	}
	if got := len(pl.sink.Messages()); got != n {
		t.Errorf("%d messages arrived, want %d (each once)", got, n)
	}
}

func TestWorker_SendsAtMostConcurrencyAtOnce(t *testing.T) {
	const concurrency, n = 3, 24
	pl := startPipeline(t, concurrency, nil)
	pl.sink.SlowData(40 * time.Millisecond)
	pl.queue(t, ids("m", n)...)
	pl.sink.Wait(t, n, 20*time.Second)
	if got := pl.sink.MaxInData(); got != concurrency {
		t.Errorf("at most %d messages were in DATA at once, want %d", got, concurrency)
	}
}

func TestWorker_SlowMessageDoesNotHoldUpTheOthers(t *testing.T) {
	pl := startPipeline(t, 4, nil)
	pl.sink.SlowDataTo("slow@example.test", 5*time.Second)
	pl.queue(t, "slow")
	for deadline := time.Now().Add(5 * time.Second); pl.sink.InData() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the slow message never reached DATA")
		}
	}
	// Queued while the slow one is being sent: the worker claims them and
	// the three other senders deliver them all before the slow one ends.
	fast := ids("fast", 40)
	pl.queue(t, fast...)
	pl.sink.Wait(t, len(fast), 4*time.Second)
	pl.waitSent(t, fast)
	for _, m := range pl.sink.Messages() {
		if m.To[0] == "slow@example.test" {
			t.Fatal("the slow message finished first; the test proves nothing")
		}
	}
}

func TestWorker_CompletionsAreRecordedInGroups(t *testing.T) {
	const n = 200
	pl := startPipeline(t, 8, nil)
	pl.st.mu.Lock()
	pl.st.completeDelay = 20 * time.Millisecond
	pl.st.mu.Unlock()
	all := ids("m", n)
	pl.queue(t, all...)
	pl.waitSent(t, all)
	calls, recorded := pl.st.completeCalls()
	if recorded != n {
		t.Errorf("CompleteOutboxMany recorded %d ids, want %d", recorded, n)
	}
	// Sends finish faster than the store commits, so completions wait in
	// line and go together.
	if calls >= n/2 {
		t.Errorf("%d messages took %d CompleteOutboxMany calls, want fewer than %d", n, calls, n/2)
	}
	t.Logf("%d messages: %d claims, %d completion transactions", n, pl.st.claims, calls)
}

func TestWorker_StopFinishesAndRecordsTheMessagesInHand(t *testing.T) {
	pl := startPipeline(t, 4, nil)
	pl.sink.SlowData(300 * time.Millisecond)
	all := ids("m", 7) // more than the senders: some wait in hand
	pl.queue(t, all...)
	for deadline := time.Now().Add(5 * time.Second); pl.sink.InData() < 4 || pl.st.claimedCount() < len(all); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the messages were never all claimed and in DATA")
		}
	}
	pl.stop()
	if got := len(pl.sink.Messages()); got != len(all) {
		t.Errorf("%d of %d messages in hand were sent", got, len(all))
	}
	for _, id := range all {
		if m, _ := pl.st.OutboxMessage(context.Background(), id); m.Status != store.OutboxSent {
			t.Errorf("%s: %s after Run returned, want sent", id, m.Status)
		}
	}
}

// TestWorker_AdmitHoldsBackWhileBehind: with more queued than the worker
// sends, Admit waits until the outbox has caught up.
func TestWorker_AdmitHoldsBackWhileBehind(t *testing.T) {
	pl := startPipeline(t, 1, func(w *Worker) { w.AdmitLag = 20 * time.Millisecond; w.AdmitWait = 10 * time.Second })
	pl.sink.SlowData(10 * time.Millisecond)
	all := ids("m", 30)
	pl.queue(t, all...)
	pl.sink.Wait(t, 3, 5*time.Second) // sending, and by now more than 20 ms behind
	start := time.Now()
	pl.w.Admit(t.Context())
	waited, delivered := time.Since(start), len(pl.sink.Messages())
	// Every message was queued at once, so the outbox has caught up only
	// when the last claim took all that was left.
	if delivered < len(all)-2 {
		t.Errorf("Admit returned after %v with %d of %d messages delivered; want it to wait for the backlog", waited, delivered, len(all))
	}
	pl.waitSent(t, all)
}

// TestWorker_AdmitWaitsAtMostAdmitWait: a backlog that does not clear in
// time holds a message back for AdmitWait, no longer.
func TestWorker_AdmitWaitsAtMostAdmitWait(t *testing.T) {
	pl := startPipeline(t, 1, func(w *Worker) { w.AdmitLag = 10 * time.Millisecond; w.AdmitWait = 200 * time.Millisecond })
	pl.sink.SlowData(20 * time.Millisecond)
	pl.queue(t, ids("m", 200)...)
	pl.sink.Wait(t, 2, 5*time.Second)
	start := time.Now()
	pl.w.Admit(t.Context())
	if waited := time.Since(start); waited < 150*time.Millisecond || waited > 2*time.Second {
		t.Errorf("Admit waited %v behind a 4 s backlog, want about AdmitWait (200ms)", waited)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start = time.Now()
	pl.w.Admit(ctx)
	if waited := time.Since(start); waited > 100*time.Millisecond {
		t.Errorf("Admit with a cancelled context waited %v", waited)
	}
}

// TestWorker_AdmitDoesNotWaitForAStalledProvider: when no send ends (the
// provider hangs), waiting would not help: Admit returns at once.
func TestWorker_AdmitDoesNotWaitForAStalledProvider(t *testing.T) {
	pl := startPipeline(t, 1, func(w *Worker) { w.AdmitLag = time.Millisecond; w.AdmitWait = 5 * time.Second })
	pl.sink.SlowData(time.Second)
	pl.queue(t, ids("m", 3)...)
	for deadline := time.Now().Add(5 * time.Second); pl.sink.InData() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first message never reached DATA")
		}
	}
	time.Sleep(150 * time.Millisecond)
	start := time.Now()
	pl.w.Admit(t.Context())
	if waited := time.Since(start); waited > 100*time.Millisecond {
		t.Errorf("Admit waited %v for a provider that sends nothing", waited)
	}
}
