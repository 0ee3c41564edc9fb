package passwordless

import (
	"context"
	"testing"
	"time"
)

func TestSendLatency_FollowsTheProviderAndPadsAsLong(t *testing.T) {
	var l sendLatency
	if got := l.estimate("sms"); got != latencyPrior {
		t.Fatalf("estimate before any send = %v, want the prior %v", got, latencyPrior)
	}
	l.observe("sms", 80*time.Millisecond)
	if got := l.estimate("sms"); got != 80*time.Millisecond {
		t.Fatalf("estimate after one send = %v", got)
	}
	for range 100 {
		l.observe("sms", 40*time.Millisecond)
	}
	if got := l.estimate("sms"); got < 40*time.Millisecond || got > 41*time.Millisecond {
		t.Fatalf("estimate after many 40ms sends = %v", got)
	}
	if got := l.estimate("other"); got != latencyPrior {
		t.Fatalf("connections share estimates: %v", got)
	}
	l.observe("slow", time.Hour)
	if got := l.estimate("slow"); got != maxPadding {
		t.Fatalf("estimate of a very slow provider = %v, want the cap", got)
	}

	start := time.Now()
	l.pad(context.Background(), "sms")
	if d := time.Since(start); d < 30*time.Millisecond || d > time.Second {
		t.Errorf("pad took %v, want about 40ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	l.pad(ctx, "slow")
	if d := time.Since(start); d > time.Second {
		t.Errorf("pad ignored a cancelled context: %v", d)
	}
}
