package main

import (
	"slices"
	"sync"
	"time"
)

// recorder collects the latencies and outcomes of one measurement. Every
// sample is kept (a few hundred thousand at most for the durations here),
// so the percentiles are exact.
type recorder struct {
	mu      sync.Mutex
	on      bool // false during warm-up: nothing is recorded
	steps   map[string][]time.Duration
	order   []string
	errors  map[string]map[string]int // step -> status ("503", "transport", …) -> count
	flows   []time.Duration           // whole iterations, from arrival (open loop) or start
	inbox   []time.Duration
	dropped int // open loop: arrivals not started because too many were in flight
}

func newRecorder() *recorder {
	return &recorder{steps: map[string][]time.Duration{}, errors: map[string]map[string]int{}}
}

func (r *recorder) start() {
	r.mu.Lock()
	r.on = true
	r.mu.Unlock()
}

func (r *recorder) stop() {
	r.mu.Lock()
	r.on = false
	r.mu.Unlock()
}

func (r *recorder) step(name string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on {
		return
	}
	if _, ok := r.steps[name]; !ok {
		r.order = append(r.order, name)
	}
	r.steps[name] = append(r.steps[name], d)
}

func (r *recorder) fail(step, status string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on {
		return
	}
	if r.errors[step] == nil {
		r.errors[step] = map[string]int{}
	}
	r.errors[step][status]++
}

func (r *recorder) flow(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.flows = append(r.flows, d)
	}
}

// toInbox records a time to inbox of a start answered while recording
// (the mail may arrive after the end).
func (r *recorder) toInbox(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inbox = append(r.inbox, d)
}

// recording is the recorder when it records, else nil.
func (r *recorder) recording() *recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		return r
	}
	return nil
}

func (r *recorder) drop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.dropped++
	}
}

func (r *recorder) completed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.flows)
}

func (r *recorder) errorCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.errors {
		for _, c := range m {
			n += c
		}
	}
	return n
}

// Latency is a distribution in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	// Nearest rank: the smallest sample with at least q of them at or below it.
	q := func(p float64) float64 {
		i := int(float64(len(s))*p+0.999999) - 1
		return ms(s[min(max(i, 0), len(s)-1)])
	}
	return Latency{Count: len(s), Mean: ms(sum / time.Duration(len(s))), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// StepResult is one request of a flow (or the wait for the inbox).
type StepResult struct {
	Name string `json:"name"`
	Latency
}
