// Package storetest is the conformance suite every store backend must pass
// (after Dex's storage/conformance). A backend's test calls Run, and
// RunReplicas when several Stores can share one database:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... })
//	}
//
// The suite never sleeps: every method takes the time from the caller, and
// the tests pass explicit times. Times are compared at millisecond precision
// and must come back in UTC: a backend may drop anything finer than a
// millisecond, but nothing coarser.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// t0 is the suite's "now". It has millisecond precision on purpose.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// workers is how many goroutines the concurrency tests start; the suite
// runs on small machines (2 cores) and under the race detector.
const workers = 16

// racers is how many goroutines race for one thing that only one of them
// may have: one code redeemed, one refresh token rotated, one outbox
// message claimed.
const racers = 50

// Run runs the conformance suite. newStore returns a Store on a fresh, empty
// database that has not been migrated yet, and arranges (t.Cleanup) for it
// to be closed and removed.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := &suite{newStore: newStore}
	groups := []struct {
		name  string
		tests []test
	}{
		{"Migrate", migrateTests},
		{"Ready", readyTests},
		{"Tenant", tenantTests},
		{"Secret", secretTests},
		{"SigningKey", signingKeyTests},
		{"Code", codeTests},
		{"Outbox", outboxTests},
		{"User", userTests},
		{"UserAdmin", userAdminTests},
		{"RefreshToken", refreshTests},
		{"AuthCode", authCodeTests},
		{"LoginTicket", ticketTests},
		{"Session", sessionTests},
		{"Bucket", bucketTests},
		{"Failure", failureTests},
		{"Block", blockTests},
		{"BlockOf", blockOfTests},
		{"Guess", guessTests},
		{"GuessLogin", guessLoginTests},
		{"Takes", takesTests},
		{"Event", eventTests},
		{"Purge", purgeTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, s) })
			}
		})
	}
}

type test struct {
	name string
	run  func(t *testing.T, s *suite)
}

type suite struct {
	newStore func(t *testing.T) store.Store
}

// open returns a fresh, migrated Store.
func (s *suite) open(t *testing.T) store.Store {
	t.Helper()
	st := s.newStore(t)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st
}

// parallel runs fn(0..n-1) in n goroutines released at the same moment and
// waits for all of them.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// ctx is a shorthand for the test's context.
func ctx(t *testing.T) context.Context { return t.Context() }

// checkTime fails unless got is the same instant as want, in UTC (or both
// are zero).
func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Errorf("%s = %v, want the zero time", what, got)
		}
		return
	}
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, got.Location())
	}
}
