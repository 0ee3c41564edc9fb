package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-id/sesame/internal/app"
	"github.com/sesame-id/sesame/internal/store"
)

// seed fills the database with users and expired codes through the store,
// as logins and starts would have left them, before the server starts.
// Each row is one store call (one transaction): SQLite runs them one at a
// time on its writer, PostgreSQL on the pool's connections.
//
// The codes expired between 1 and 23 hours ago, so the janitor (which
// deletes codes 24 hours after they expired) leaves them in place during
// the run: they are the dead rows the indexes have to skip.
func seed(ctx context.Context, database string, users, codes int, progress io.Writer) error {
	st, err := app.OpenStore(ctx, app.Config{Database: database})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	now := time.Now()
	run := func(what string, n int, one func(i int) error) error {
		if n <= 0 {
			return nil
		}
		var (
			next, done atomic.Int64
			wg         sync.WaitGroup
			mu         sync.Mutex
			first      error
		)
		t0 := time.Now()
		stop := make(chan struct{})
		go func() {
			tick := time.NewTicker(2 * time.Second)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					d := done.Load()
					fmt.Fprintf(progress, "seeding %s: %d of %d (%.0f/s)\n", what, d, n, float64(d)/time.Since(t0).Seconds())
				}
			}
		}()
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= n || ctx.Err() != nil {
						return
					}
					if err := one(i); err != nil {
						mu.Lock()
						if first == nil {
							first = err
						}
						mu.Unlock()
						return
					}
					done.Add(1)
				}
			}()
		}
		wg.Wait()
		close(stop)
		if first != nil {
			return fmt.Errorf("seed %s: %w", what, first)
		}
		fmt.Fprintf(progress, "seeded %d %s in %s\n", n, what, time.Since(t0).Round(time.Second))
		return ctx.Err()
	}
	if err := run("users", users, func(i int) error {
		email := fmt.Sprintf("seed-%d@bench.example", i)
		at := now.Add(-time.Duration(i%720) * time.Hour)
		_, _, err := st.LoginUser(ctx, store.User{
			UserID: "email|" + objectID(), Connection: "email", Strategy: "email", Identifier: email,
			Email: email, EmailVerified: true, Name: email, CreatedAt: at, UpdatedAt: at, LastLogin: at,
			LastIP: "127.0.0.1", LoginsCount: 1,
		}, true)
		return err
	}); err != nil {
		return err
	}
	return run("expired codes", codes, func(i int) error {
		created := now.Add(-time.Hour - time.Duration(i%(22*3600))*time.Second - 180*time.Second)
		mac := make([]byte, 32)
		_, _ = rand.Read(mac)
		_, err := st.CreateCode(ctx, store.Code{
			ID: objectID(), Connection: "email", Identifier: fmt.Sprintf("expired-%d@bench.example", i),
			CodeHMAC: mac, ClientID: webClientID, Send: "code", CreatedAt: created,
			ExpiresAt: created.Add(180 * time.Second), MaxTries: 3,
		}, nil)
		return err
	})
}

// objectID is 24 hex characters, as Sesame's ids.
func objectID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
