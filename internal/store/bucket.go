package store

import (
	"fmt"
	"math"
	"time"
)

// BucketLevel is a token bucket as a backend keeps it: how many tokens it
// held when it was last written. A bucket without a row is full (Found
// false).
type BucketLevel struct {
	Found  bool
	Tokens float64
	At     time.Time
}

// BucketWrite is what a backend writes back for one bucket of a take, when
// Write is set: the level, the time it is for, and when the bucket is full
// again (kept so that a sweep can delete full buckets, which are the same as
// no bucket, without knowing their limit).
type BucketWrite struct {
	Write  bool
	Tokens float64
	At     time.Time
	FullAt time.Time
}

// Takes is the rule of TakeTokens, for backends: given the buckets' stored
// levels (in the order of takes) at now, it says what to write back and what
// to answer. Each bucket is refilled for the time since its last write (at
// Limit.Burst tokens per Limit.Per, capped at Limit.Burst); when every
// bucket then has a whole token one is taken from each, otherwise nothing is
// taken, the first empty bucket is refused (limited), and only its refill is
// written, so that its state and Reset stay exact. A clock that went
// backwards (another replica's, or this one's after an adjustment) refills
// nothing, and the later time is kept so that no interval is refilled twice.
// Times are in milliseconds, as the backends store them. A limit with
// Burst <= 0 or Per <= 0 is an error.
func Takes(takes []Take, levels []BucketLevel, now time.Time) (writes []BucketWrite, buckets []Bucket, limited bool, err error) {
	if len(levels) != len(takes) {
		return nil, nil, false, fmt.Errorf("store: %d bucket levels for %d takes", len(levels), len(takes))
	}
	type state struct {
		tokens float64
		at     int64
	}
	states := make([]state, len(takes))
	refused := -1
	for i, t := range takes {
		if t.Limit.Burst <= 0 || t.Limit.Per <= 0 {
			return nil, nil, false, fmt.Errorf("bucket %q: invalid limit %d per %v", t.Key, t.Limit.Burst, t.Limit.Per)
		}
		burst := float64(t.Limit.Burst)
		at, tokens := now.UnixMilli(), burst
		if l := levels[i]; l.Found {
			updated := l.At.UnixMilli()
			at = max(at, updated)
			perMS := float64(t.Limit.Per) / float64(time.Millisecond)
			tokens = min(burst, snap(l.Tokens+float64(at-updated)*burst/perMS))
		}
		states[i] = state{tokens, at}
		if tokens < 1 && refused < 0 {
			refused = i
		}
	}
	writes = make([]BucketWrite, len(takes))
	buckets = make([]Bucket, len(takes))
	for i, t := range takes {
		st := states[i]
		switch {
		case refused < 0:
			st.tokens--
			buckets[i].Allowed = true
		case i != refused:
			buckets[i].Allowed = true // would have been; nothing was taken
		}
		burst := float64(t.Limit.Burst)
		perMS := float64(t.Limit.Per) / float64(time.Millisecond)
		fullAt := time.UnixMilli(st.at + int64(math.Ceil(snap((burst-st.tokens)*perMS/burst)))).UTC()
		writes[i] = BucketWrite{Write: refused < 0 || i == refused, Tokens: st.tokens, At: time.UnixMilli(st.at).UTC(), FullAt: fullAt}
		buckets[i].Remaining = int(math.Floor(st.tokens))
		buckets[i].Reset = fullAt
	}
	return writes, buckets, refused >= 0, nil
}

// snap rounds x to the nearest whole number when it is within float noise of
// it, so that a refill that should come to exactly one token (or a wait of
// exactly so many milliseconds) is not 0.9999999999 of one.
func snap(x float64) float64 {
	if r := math.Round(x); math.Abs(x-r) < 1e-6 {
		return r
	}
	return x
}
