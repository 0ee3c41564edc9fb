package delivery

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/smtptest"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/sqlite"
	"github.com/sesame-id/sesame/internal/tenant"
)

var benchRate = flag.Int("delivery.rate", 500, "starts per second in BenchmarkWorker_TimeToInbox")

// BenchmarkWorker_TimeToInbox measures what a user waits for: the time from
// a start's commit (when /passwordless/start answers) to the message being
// in the SMTP server. Starts arrive at -delivery.rate a second (from up to
// 32 clients at once) into a real SQLite outbox; the worker runs with its
// defaults and sends to a real SMTP server on loopback. It reports the 50th
// and 99th percentiles, the rate of starts reached and the SMTP sessions
// opened.
func BenchmarkWorker_TimeToInbox(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	sink := smtptest.Start(b)
	host, port, _ := net.SplitHostPort(sink.Addr)
	p, _ := strconv.Atoi(port)
	sender, err := NewSMTPSender(&tenant.EmailProvider{Credentials: tenant.EmailCredentials{SMTPHost: host, SMTPPort: p}}, SMTPOptions{})
	if err != nil {
		b.Fatal(err)
	}
	sealer := testSealer(b)
	w := &Worker{Store: st, Sealer: sealer, Sender: func() EmailSender { return sender }, Logger: slog.New(slog.DiscardHandler)}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); _ = w.Run(runCtx) }()
	defer func() { stop(); <-ran }()

	const clients = 32
	var (
		next     atomic.Int64
		mu       sync.Mutex
		answered = make(map[string]time.Time, b.N)
		wg       sync.WaitGroup
	)
	b.ResetTimer()
	began := time.Now()
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				time.Sleep(time.Until(began.Add(time.Duration(i) * time.Second / time.Duration(*benchRate))))
				to := fmt.Sprintf("user%d@example.test", i)
				payload, err := sealer.Seal(Email{From: "Acme <login@acme.test>", To: to, Subject: "Your code", Text: "Your code is 123456\n"})
				if err != nil {
					b.Error(err)
					return
				}
				now := time.Now()
				id := fmt.Sprintf("m%d", i)
				code := store.Code{ID: "c" + id, Connection: "email", Identifier: to, CodeHMAC: []byte(id), ClientID: "cli",
					Send: "code", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), MaxTries: 3}
				msg := &store.OutboxMessage{ID: id, Kind: KindEmail, Recipient: to, Payload: payload, NotAfter: code.ExpiresAt,
					NextAttempt: now, Status: store.OutboxPending, CreatedAt: now}
				if _, err := st.CreateCode(ctx, code, msg, nil); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				answered[to] = time.Now()
				mu.Unlock()
				w.Kick()
			}
		})
	}
	wg.Wait()
	startRate := float64(b.N) / time.Since(began).Seconds()
	got := sink.Wait(b, b.N, 5*time.Minute)
	b.StopTimer()

	waits := make([]time.Duration, 0, len(got))
	for _, m := range got {
		mu.Lock()
		at, ok := answered[m.To[0]]
		mu.Unlock()
		if ok {
			waits = append(waits, max(0, m.Received.Sub(at)))
		}
	}
	slices.Sort(waits)
	pct := func(p float64) float64 {
		return float64(waits[min(len(waits)-1, int(p*float64(len(waits))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(startRate, "starts/s")
	b.ReportMetric(float64(sink.Sessions()), "smtp-sessions")
}
