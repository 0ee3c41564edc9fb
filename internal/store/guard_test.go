package store

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestJudgeGuess(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	right, wrong := []byte("right-mac"), []byte("wrong-mac")
	live := func(attempts int, expires time.Time) *Code {
		return &Code{CodeHMAC: right, Attempts: attempts, MaxTries: 3, ExpiresAt: expires}
	}
	later := now.Add(time.Minute)
	for _, tc := range []struct {
		name  string
		live  *Code
		mac   []byte
		stale bool
		want  error
	}{
		{"right value", live(0, later), right, false, nil},
		{"right value with tries used", live(2, later), right, false, nil},
		{"wrong value", live(0, later), wrong, false, ErrCodeWrong},
		{"tries used up, even the right value", live(3, later), right, false, ErrAttemptsExceeded},
		{"tries used up before stale", live(3, later), wrong, true, ErrAttemptsExceeded},
		{"an old code's value", live(0, later), wrong, true, ErrCodeStale},
		{"stale before expired", live(0, now), wrong, true, ErrCodeStale},
		{"expired at ExpiresAt", live(0, now), right, false, ErrCodeExpired},
		{"a wrong value at an expired code is not counted", live(0, now), wrong, false, ErrCodeExpired},
		{"no live code", nil, wrong, false, ErrCodeNotFound},
		{"no live code, a used one's value", nil, wrong, true, ErrCodeStale},
	} {
		if got := JudgeGuess(tc.live, [][]byte{tc.mac}, tc.stale, now); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// Several candidates (one per key): any match is a match, in any
	// position; none is one wrong guess; none at all is wrong.
	other := []byte("other-mac")
	for _, macs := range [][][]byte{{right, wrong}, {wrong, right}, {other, wrong, right}} {
		if got := JudgeGuess(live(0, later), macs, false, now); got != nil {
			t.Errorf("%d candidates with the right one: %v", len(macs), got)
		}
	}
	if got := JudgeGuess(live(0, later), [][]byte{wrong, other}, false, now); got != ErrCodeWrong {
		t.Errorf("two wrong candidates: %v", got)
	}
	if got := JudgeGuess(live(0, later), nil, false, now); got != ErrCodeWrong {
		t.Errorf("no candidates: %v", got)
	}
}

func TestGuard_Effects(t *testing.T) {
	on := Guard{Protect: true}
	for _, tc := range []struct {
		g            Guard
		outcome      error
		count, reset bool
	}{
		{on, ErrCodeWrong, true, false},
		{on, nil, false, true},
		{on, ErrCodeStale, false, false},
		{on, ErrCodeExpired, false, false},
		{on, ErrAttemptsExceeded, false, false},
		{on, ErrCodeNotFound, false, false},
		{on, errors.New("accept refused"), false, false},
		{Guard{}, ErrCodeWrong, false, false},
		{Guard{}, nil, false, false},
	} {
		count, reset := tc.g.Effects(tc.outcome)
		if count != tc.count || reset != tc.reset {
			t.Errorf("Protect=%v, %v: count %v reset %v, want %v %v", tc.g.Protect, tc.outcome, count, reset, tc.count, tc.reset)
		}
	}
}

func TestGuard_Penalize(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	nth := now.Add(-time.Hour)
	g := Guard{Protect: true, IP: "192.0.2.1", PairThreshold: 10, PairBlock: time.Hour,
		AccountThreshold: 30, AccountWindow: 24 * time.Hour, IPThreshold: 100, IPWindow: 24 * time.Hour}
	pair := Block{Connection: "email", Identifier: "a@example.com", IP: "192.0.2.1", Reason: "limit_wc", ExpiresAt: now.Add(time.Hour)}
	account := Block{Connection: "email", Identifier: "a@example.com", Reason: "limit_wc", ExpiresAt: nth.Add(24 * time.Hour)}
	ip := Block{IP: "192.0.2.1", Reason: "limit_mu", ExpiresAt: nth.Add(24 * time.Hour)}
	for _, tc := range []struct {
		name      string
		g         Guard
		f         Failures
		resetPair bool
		blocks    []Block
	}{
		{"below every threshold", g, Failures{Pair: 9}, false, nil},
		{"the pair reaches its threshold", g, Failures{Pair: 10}, true, []Block{pair}},
		{"the account reaches its threshold", g, Failures{Pair: 1, AccountNth: nth}, false, []Block{account}},
		{"the address reaches its threshold", g, Failures{Pair: 1, IPNth: nth}, false, []Block{ip}},
		{"all at once", g, Failures{Pair: 12, AccountNth: nth, IPNth: nth}, true, []Block{pair, account, ip}},
		{"zero thresholds are off", Guard{Protect: true, IP: "192.0.2.1"}, Failures{Pair: 100, AccountNth: nth, IPNth: nth}, false, nil},
		{"no address, no address block", func() Guard { g := g; g.IP = ""; return g }(), Failures{IPNth: nth}, false, nil},
	} {
		p := tc.g.Penalize("email", "a@example.com", now, tc.f)
		if p.ResetPair != tc.resetPair || !slices.Equal(p.Blocks, tc.blocks) {
			t.Errorf("%s: %+v, want reset %v blocks %+v", tc.name, p, tc.resetPair, tc.blocks)
		}
	}
}

func TestStrongest(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pairLong := Block{ID: "pair-long", Identifier: "a", IP: "1", ExpiresAt: t0.Add(48 * time.Hour)}
	pair := Block{ID: "pair", Identifier: "a", IP: "1", ExpiresAt: t0.Add(time.Hour)}
	ip := Block{ID: "ip", IP: "1", ExpiresAt: t0.Add(time.Hour)}
	account := Block{ID: "account", Identifier: "a", ExpiresAt: t0.Add(time.Minute)}
	newer := Block{ID: "newer", Identifier: "a", IP: "1", ExpiresAt: t0.Add(time.Hour), CreatedAt: t0.Add(time.Second)}
	for _, tc := range []struct {
		blocks []Block
		want   string
	}{
		{nil, ""},
		{[]Block{pair}, "pair"},
		{[]Block{pairLong, ip, account}, "account"},
		{[]Block{pairLong, ip}, "ip"},
		{[]Block{pair, pairLong}, "pair-long"},
		{[]Block{pair, newer}, "newer"},
		{[]Block{newer, pair}, "newer"},
	} {
		b, ok := Strongest(tc.blocks)
		if ok != (tc.want != "") || b.ID != tc.want {
			t.Errorf("Strongest(%d blocks) = %q, %v; want %q", len(tc.blocks), b.ID, ok, tc.want)
		}
	}
}
