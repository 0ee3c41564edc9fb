package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// Bench runs the store's hot transactions as Go benchmarks on a backend:
// a start (a code, its message and the rate-limit tokens, one
// transaction) and a redeem (the guess, with brute-force protection,
// consuming the code). newStore returns a migrated, empty store.
func Bench(b *testing.B, newStore func(b *testing.B) store.Store) {
	limit := store.Limit{Burst: 1 << 30, Per: time.Hour}
	start := func(st store.Store, i int, now time.Time) error {
		id := fmt.Sprintf("bench-%09d", i)
		email := id + "@example.com"
		msg := newMessage(id, now)
		msg.Recipient = email
		_, err := st.CreateCode(b.Context(), newCode(id, "email", email, "123456", now), &msg, nil,
			store.Take{Key: "start:ip:192.0.2.1", Limit: limit},
			store.Take{Key: "start:rcpt:email:" + email, Limit: limit})
		return err
	}
	b.Run("Start", func(b *testing.B) {
		st := newStore(b)
		now := time.Now()
		i := 0
		for b.Loop() {
			if err := start(st, i, now); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Redeem", func(b *testing.B) {
		st := newStore(b)
		now := time.Now()
		g := store.Guard{Protect: true, IP: "192.0.2.1", PairThreshold: 10, PairBlock: time.Hour,
			AccountThreshold: 30, AccountWindow: 24 * time.Hour, IPThreshold: 100, IPWindow: 24 * time.Hour,
			NewID: func() (string, error) { return "unused", nil }}
		const batch = 1000
		i := 0
		for b.Loop() {
			if i%batch == 0 {
				b.StopTimer()
				for j := i; j < i+batch; j++ {
					if err := start(st, j, now); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
			email := fmt.Sprintf("bench-%09d@example.com", i)
			if _, err := st.GuessCode(b.Context(), "email", email, [][]byte{mac("123456")}, now, true, g); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
