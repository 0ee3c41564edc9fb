package store

import (
	"testing"
	"time"
)

func TestTakes(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fivePerMinute := Limit{Burst: 5, Per: time.Minute} // a token every 12 s
	take := func(key string) Take { return Take{Key: key, Limit: fivePerMinute} }
	at := func(d time.Duration) time.Time { return now.Add(d) }
	tests := []struct {
		name    string
		takes   []Take
		levels  []BucketLevel
		writes  []BucketWrite
		buckets []Bucket
		limited bool
	}{
		{
			name:    "a bucket without a row is full",
			takes:   []Take{take("a")},
			levels:  []BucketLevel{{}},
			writes:  []BucketWrite{{Write: true, Tokens: 4, At: now, FullAt: at(12 * time.Second)}},
			buckets: []Bucket{{Allowed: true, Remaining: 4, Reset: at(12 * time.Second)}},
		},
		{
			name:    "refilled for the time since its last write",
			takes:   []Take{take("a")},
			levels:  []BucketLevel{{Found: true, Tokens: 0.5, At: at(-6 * time.Second)}}, // +0.5
			writes:  []BucketWrite{{Write: true, Tokens: 0, At: now, FullAt: at(time.Minute)}},
			buckets: []Bucket{{Allowed: true, Remaining: 0, Reset: at(time.Minute)}},
		},
		{
			name:    "never above the burst",
			takes:   []Take{take("a")},
			levels:  []BucketLevel{{Found: true, Tokens: 1, At: at(-time.Hour)}},
			writes:  []BucketWrite{{Write: true, Tokens: 4, At: now, FullAt: at(12 * time.Second)}},
			buckets: []Bucket{{Allowed: true, Remaining: 4, Reset: at(12 * time.Second)}},
		},
		{
			name:    "an empty bucket refuses and writes its refill",
			takes:   []Take{take("a")},
			levels:  []BucketLevel{{Found: true, Tokens: 0.25, At: at(-6 * time.Second)}}, // 0.75 now
			writes:  []BucketWrite{{Write: true, Tokens: 0.75, At: now, FullAt: at(51 * time.Second)}},
			buckets: []Bucket{{Allowed: false, Remaining: 0, Reset: at(51 * time.Second)}},
			limited: true,
		},
		{
			name:   "all or nothing: the first empty bucket refuses, the others are not written",
			takes:  []Take{take("a"), take("b"), take("c")},
			levels: []BucketLevel{{}, {Found: true, Tokens: 0, At: now}, {Found: true, Tokens: 0, At: now}},
			writes: []BucketWrite{
				{Write: false, Tokens: 5, At: now, FullAt: now},
				{Write: true, Tokens: 0, At: now, FullAt: at(time.Minute)},
				{Write: false, Tokens: 0, At: now, FullAt: at(time.Minute)},
			},
			buckets: []Bucket{{Allowed: true, Remaining: 5, Reset: now}, {Remaining: 0, Reset: at(time.Minute)}, {Allowed: true, Remaining: 0, Reset: at(time.Minute)}},
			limited: true,
		},
		{
			name:    "a clock that went backwards refills nothing and keeps the later time",
			takes:   []Take{take("a")},
			levels:  []BucketLevel{{Found: true, Tokens: 2, At: at(time.Minute)}},
			writes:  []BucketWrite{{Write: true, Tokens: 1, At: at(time.Minute), FullAt: at(time.Minute + 48*time.Second)}},
			buckets: []Bucket{{Allowed: true, Remaining: 1, Reset: at(time.Minute + 48*time.Second)}},
		},
		{
			// 1/3 of a token per second for three seconds is one token,
			// not 0.999…
			name:    "float noise does not cost a token",
			takes:   []Take{{Key: "a", Limit: Limit{Burst: 3, Per: 9 * time.Second}}},
			levels:  []BucketLevel{{Found: true, Tokens: 0, At: at(-3 * time.Second)}},
			writes:  []BucketWrite{{Write: true, Tokens: 0, At: now, FullAt: at(9 * time.Second)}},
			buckets: []Bucket{{Allowed: true, Remaining: 0, Reset: at(9 * time.Second)}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			writes, buckets, limited, err := Takes(tc.takes, tc.levels, now)
			if err != nil {
				t.Fatal(err)
			}
			if limited != tc.limited {
				t.Errorf("limited = %v, want %v", limited, tc.limited)
			}
			for i := range tc.takes {
				if w, want := writes[i], tc.writes[i]; w.Write != want.Write || w.Tokens != want.Tokens || !w.At.Equal(want.At) || !w.FullAt.Equal(want.FullAt) {
					t.Errorf("write %d = %+v, want %+v", i, w, want)
				}
				if b, want := buckets[i], tc.buckets[i]; b.Allowed != want.Allowed || b.Remaining != want.Remaining || !b.Reset.Equal(want.Reset) {
					t.Errorf("bucket %d = %+v, want %+v", i, b, want)
				}
			}
		})
	}
}

func TestTakes_RefusesAnInvalidLimit(t *testing.T) {
	for _, l := range []Limit{{Burst: 0, Per: time.Minute}, {Burst: 1, Per: 0}, {Burst: -1, Per: time.Minute}} {
		if _, _, _, err := Takes([]Take{{Key: "a", Limit: l}}, []BucketLevel{{}}, time.Now()); err == nil {
			t.Errorf("limit %+v accepted", l)
		}
	}
}
