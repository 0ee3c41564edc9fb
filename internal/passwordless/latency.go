package passwordless

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// sendLatency remembers how long each sms connection's provider takes to
// accept a message, so that a start that sends nothing (disable_signup and a
// number that is no user's) takes about as long as one that sends: the
// answer's timing must not tell who is a user.
type sendLatency struct {
	mu  sync.Mutex
	avg map[string]time.Duration
}

// latencyPrior is the estimate before a connection has sent anything: a
// typical provider round trip.
const latencyPrior = 300 * time.Millisecond

// maxPadding bounds the wait, whatever a slow provider taught us.
const maxPadding = 10 * time.Second

// observe records one successful send that took d (a moving average that
// follows the last few dozen sends).
func (l *sendLatency) observe(conn string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.avg == nil {
		l.avg = map[string]time.Duration{}
	}
	prev, ok := l.avg[conn]
	if !ok {
		prev = d
	}
	l.avg[conn] = prev + (d-prev)/8
}

// estimate is the expected send time of conn.
func (l *sendLatency) estimate(conn string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d, ok := l.avg[conn]; ok {
		return min(d, maxPadding)
	}
	return latencyPrior
}

// pad waits about as long as a send on conn takes, with some jitter, or
// until ctx ends.
func (l *sendLatency) pad(ctx context.Context, conn string) {
	d := time.Duration(float64(l.estimate(conn)) * (0.8 + 0.4*rand.Float64()))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
