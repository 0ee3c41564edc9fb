package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// load is how one measurement drives a flow.
type load struct {
	Users       int           // closed loop: virtual users; open loop: users set up (refresh tokens)
	Rate        float64       // open loop: arrivals per second; 0: closed loop
	Warmup      time.Duration // run before recording
	Duration    time.Duration
	MaxInFlight int // open loop: arrivals beyond this many in flight are dropped
}

// FlowResult is one measurement of one flow.
type FlowResult struct {
	Flow        string  `json:"flow"`
	Mode        string  `json:"mode"` // closed or open
	Users       int     `json:"users,omitempty"`
	OfferedRate float64 `json:"offered_rate,omitempty"` // open loop, iterations/s
	DurationS   float64 `json:"duration_s"`
	Iterations  int     `json:"iterations"`
	Throughput  float64 `json:"throughput"` // completed iterations/s
	// Latency is of whole iterations; in open loop from the scheduled
	// arrival, so queueing in the driver counts.
	Latency Latency      `json:"latency"`
	Steps   []StepResult `json:"steps"`
	// ToInbox is from the client having the start's answer to the mail in
	// the sink.
	ToInbox *Latency                  `json:"to_inbox,omitempty"`
	Errors  map[string]map[string]int `json:"errors,omitempty"`
	Dropped int                       `json:"dropped,omitempty"`

	ServerCPUPerOpMS float64 `json:"server_cpu_per_op_ms,omitempty"`
	ServerCPUCores   float64 `json:"server_cpu_cores,omitempty"` // CPU seconds per second of the run
	PeakRSSMB        float64 `json:"server_peak_rss_mb,omitempty"`
	// DriverCPUCores is the bench's own CPU use (the virtual users, the
	// sink, the fake Twilio): on a small machine it competes with the
	// server.
	DriverCPUCores float64 `json:"driver_cpu_cores"`
	Bound          *Bound  `json:"bound,omitempty"`
}

// measure runs f against t under l and summarizes it. ps, when not nil, is
// the server process whose CPU and memory are read.
func measure(ctx context.Context, t *target, f *flow, l load, ps *procStats, progress io.Writer) (*FlowResult, error) {
	rec := newRecorder()
	t.rec.Store(rec)

	states := make([]any, max(l.Users, 1))
	if f.setup != nil {
		for i := range states {
			s, err := f.setup(t.iteration(ctx, f.browser))
			if err != nil {
				return nil, fmt.Errorf("%s: set up user %d: %w", f.Name, i, err)
			}
			states[i] = s
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		inFlight atomic.Int64
		window   struct{ from, to atomic.Int64 } // unix ns of the measured window, for open-loop arrivals
	)
	begin := time.Now()
	window.from.Store(begin.Add(l.Warmup).UnixNano())
	window.to.Store(begin.Add(l.Warmup + l.Duration).UnixNano())
	one := func(at time.Time, state any) error {
		defer inFlight.Add(-1)
		it := t.iteration(runCtx, f.browser)
		err := f.run(it, state)
		if err != nil {
			return err // recorded by the step that failed (or cut off by the end)
		}
		if l.Rate > 0 {
			if a := at.UnixNano(); a >= window.from.Load() && a < window.to.Load() {
				rec.flow(time.Since(at))
			}
			return nil
		}
		rec.flow(time.Since(at))
		return nil
	}

	if l.Rate <= 0 {
		for i := range l.Users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for runCtx.Err() == nil {
					inFlight.Add(1)
					if err := one(time.Now(), states[i%len(states)]); err != nil && runCtx.Err() == nil {
						// A failing server answers fast: do not spin.
						_ = sleep(runCtx, 10*time.Millisecond)
					}
				}
			}()
		}
	} else {
		wg.Add(1)
		go func() {
			defer wg.Done()
			end := begin.Add(l.Warmup + l.Duration)
			for i := 0; ; i++ {
				at := begin.Add(time.Duration(float64(i) / l.Rate * float64(time.Second)))
				if !at.Before(end) {
					return
				}
				if d := time.Until(at); d > 0 {
					select {
					case <-time.After(d):
					case <-runCtx.Done():
						return
					}
				}
				if inFlight.Load() >= int64(l.MaxInFlight) {
					if at.UnixNano() >= window.from.Load() {
						rec.drop()
					}
					continue
				}
				inFlight.Add(1)
				wg.Add(1)
				go func() {
					defer wg.Done()
					_ = one(at, states[i%len(states)])
				}()
			}
		}()
	}

	stopProgress := showProgress(progress, f.Name, l, rec, &inFlight, t.inbox)
	defer stopProgress()

	if err := sleep(ctx, l.Warmup); err != nil {
		return nil, err
	}
	self := procStats{pid: os.Getpid()}
	self0, _ := self.CPU()
	var cpu0 time.Duration
	if ps != nil {
		_ = ps.ResetPeak() // without it the peak is the process's since its start
		cpu0, _ = ps.CPU()
	}
	rec.start()
	t0 := time.Now()
	if err := sleep(ctx, l.Duration); err != nil {
		return nil, err
	}
	elapsed := time.Since(t0)
	self1, _ := self.CPU()
	if l.Rate > 0 {
		// Arrivals of the window that are still running finish (up to 10 s
		// more) so that slow ones are counted, not cut off.
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	}
	rec.stop()
	var cpu1 time.Duration
	var peak int64
	if ps != nil {
		cpu1, _ = ps.CPU()
		_, peak, _ = ps.Memory()
	}
	cancel()
	wg.Wait()
	stopProgress()
	// The mails of the measured starts still on their way are waited for
	// (their time to inbox counts), so that the next flow does not start
	// behind a backlog.
	drainStart := time.Now()
	for t.inbox.undelivered() > 0 && time.Since(drainStart) < 2*time.Minute && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	if n := t.inbox.undelivered(); n > 0 && progress != nil {
		fmt.Fprintf(progress, "%s: %d messages still not delivered after %s\n", f.Name, n, time.Since(drainStart).Round(time.Second))
	}
	t.inbox.sweep(time.Now().Add(-time.Minute))
	// Mails that come even later may still add to rec.inbox.
	rec.mu.Lock()
	defer rec.mu.Unlock()

	res := &FlowResult{Flow: f.Name, DurationS: elapsed.Seconds(), Iterations: len(rec.flows),
		Throughput: float64(len(rec.flows)) / elapsed.Seconds(), Latency: summarize(rec.flows),
		Dropped: rec.dropped, DriverCPUCores: (self1 - self0).Seconds() / elapsed.Seconds()}
	if l.Rate > 0 {
		res.Mode, res.OfferedRate = "open", l.Rate
	} else {
		res.Mode, res.Users = "closed", l.Users
	}
	for _, name := range rec.order {
		res.Steps = append(res.Steps, StepResult{Name: name, Latency: summarize(rec.steps[name])})
	}
	if len(rec.inbox) > 0 {
		in := summarize(rec.inbox)
		res.ToInbox = &in
	}
	if len(rec.errors) > 0 {
		res.Errors = rec.errors
	}
	if ps != nil && res.Iterations > 0 {
		cpu := cpu1 - cpu0
		res.ServerCPUPerOpMS = ms(cpu) / float64(res.Iterations)
		res.ServerCPUCores = cpu.Seconds() / elapsed.Seconds()
		res.PeakRSSMB = float64(peak) / (1 << 20)
	}
	return res, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// showProgress writes a progress line every second until the returned
// function is called (which may be called twice).
func showProgress(w io.Writer, name string, l load, rec *recorder, inFlight *atomic.Int64, in *inbox) func() {
	if w == nil {
		return func() {}
	}
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	mode := fmt.Sprintf("%d users", l.Users)
	if l.Rate > 0 {
		mode = fmt.Sprintf("%.0f/s offered", l.Rate)
	}
	start := time.Now()
	done := make(chan struct{})
	var once sync.Once
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		last, lastAt := 0, time.Now()
		for n := 1; ; n++ {
			select {
			case <-done:
				if tty {
					fmt.Fprintln(w)
				}
				return
			case now := <-tick.C:
				c := rec.completed()
				rate := float64(c-last) / now.Sub(lastAt).Seconds()
				last, lastAt = c, now
				phase := "measuring"
				if now.Sub(start) < l.Warmup {
					phase, rate = "warming up", 0
				}
				line := fmt.Sprintf("%-15s %-15s %5.0fs  %-9s %7d done %8.0f/s  %d errors  %d in flight  %d mails on their way",
					name, mode, now.Sub(start).Seconds(), phase, c, rate, rec.errorCount(), inFlight.Load(), in.undelivered())
				switch {
				case tty:
					fmt.Fprintf(w, "\r%s\x1b[K", line)
				case n%5 == 0:
					fmt.Fprintln(w, line)
				}
			}
		}
	}()
	return func() {
		once.Do(func() { close(done); <-finished })
	}
}

// errorTotal is the number of failed requests of a result.
func (r *FlowResult) errorTotal() int {
	n := 0
	for _, m := range r.Errors {
		for _, c := range m {
			n += c
		}
	}
	return n
}

// errorSummary is "step status×count, …", sorted.
func (r *FlowResult) errorSummary() string {
	var parts []string
	for step, m := range r.Errors {
		for status, c := range m {
			parts = append(parts, fmt.Sprintf("%s %s×%d", step, status, c))
		}
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return "none"
	}
	s := ""
	for i, p := range parts {
		if i > 0 {
			s += ", "
		}
		s += p
	}
	return s
}
