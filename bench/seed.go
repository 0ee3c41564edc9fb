package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-id/sesame/internal/app"
	"github.com/sesame-id/sesame/internal/store"
)

// seed fills the database with users and expired codes, as logins and
// starts would have left them, before the server starts. The store
// creates the schema. On PostgreSQL every row is one store call
// (LoginUser, CreateCode) on the pool's connections; on SQLite, where
// those run one at a time at a few thousand a second, the rows are
// inserted 10,000 to a transaction with the columns the store writes
// (seedSQLite).
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
	if path, ok := strings.CutPrefix(database, "sqlite:"); ok {
		st.Close()
		return seedSQLite(ctx, path, users, codes, now, progress)
	}
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
		_, _, err := st.LoginUser(ctx, seedUser(i, now), true)
		return err
	}); err != nil {
		return err
	}
	return run("expired codes", codes, func(i int) error {
		_, err := st.CreateCode(ctx, expiredCode(i, now), nil, nil)
		return err
	})
}

// seedUser is the i-th seeded user: logged in once, up to 30 days ago.
func seedUser(i int, now time.Time) store.User {
	email := fmt.Sprintf("seed-%d@bench.example", i)
	at := now.Add(-time.Duration(i%720) * time.Hour)
	return store.User{
		UserID: "email|" + objectID(), Connection: "email", Strategy: "email", Identifier: email,
		Email: email, EmailVerified: true, Name: email, CreatedAt: at, UpdatedAt: at, LastLogin: at,
		LastIP: "127.0.0.1", LoginsCount: 1,
	}
}

// expiredCode is the i-th seeded code: never used, expired 1 to 23 hours ago.
func expiredCode(i int, now time.Time) store.Code {
	created := now.Add(-time.Hour - time.Duration(i%(22*3600))*time.Second - 180*time.Second)
	mac := make([]byte, 32)
	_, _ = rand.Read(mac)
	return store.Code{
		ID: objectID(), Connection: "email", Identifier: fmt.Sprintf("expired-%d@bench.example", i),
		CodeHMAC: mac, ClientID: webClientID, Send: "code", CreatedAt: created,
		ExpiresAt: created.Add(180 * time.Second), MaxTries: 3,
	}
}

// seedSQLite inserts the rows LoginUser and CreateCode would, with their
// columns (internal/store/sqlite: users.go, codes.go), in transactions of
// 10,000. A schema change that this misses fails here, loudly.
func seedSQLite(ctx context.Context, path string, users, codes int, now time.Time, progress io.Writer) error {
	db, err := openSQLite(path)
	if err != nil {
		return err
	}
	defer db.Close()
	batch := func(what string, n int, query string, args func(i int) []any) error {
		t0 := time.Now()
		for from := 0; from < n; from += 10000 {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			stmt, err := tx.PrepareContext(ctx, query)
			if err != nil {
				tx.Rollback()
				return fmt.Errorf("seed %s: %w", what, err)
			}
			for i := from; i < min(from+10000, n); i++ {
				if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
					tx.Rollback()
					return fmt.Errorf("seed %s: %w", what, err)
				}
			}
			stmt.Close()
			if err := tx.Commit(); err != nil {
				return fmt.Errorf("seed %s: %w", what, err)
			}
			if done := min(from+10000, n); done%200000 == 0 || done == n {
				fmt.Fprintf(progress, "seeding %s: %d of %d (%.0f/s)\n", what, done, n, float64(done)/time.Since(t0).Seconds())
			}
		}
		return nil
	}
	msOf := func(t time.Time) int64 { return t.UnixMilli() }
	if err := batch("users", users, `INSERT INTO users (user_id, connection, strategy, identifier, email, email_verified,
		phone_number, phone_verified, name, nickname, picture, created_at, updated_at, last_login, last_ip, logins_count)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, func(i int) []any {
		u := seedUser(i, now)
		return []any{u.UserID, u.Connection, u.Strategy, u.Identifier, u.Email, u.EmailVerified, u.PhoneNumber,
			u.PhoneVerified, u.Name, u.Nickname, u.Picture, msOf(u.CreatedAt), msOf(u.UpdatedAt), msOf(u.LastLogin),
			u.LastIP, u.LoginsCount}
	}); err != nil {
		return err
	}
	return batch("expired codes", codes, `INSERT INTO codes (id, connection, identifier, code_hmac, client_id, send,
		auth_params, created_at, expires_at, attempts, max_tries, state)
		VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, 0, ?, 'live')`, func(i int) []any {
		c := expiredCode(i, now)
		return []any{c.ID, c.Connection, c.Identifier, c.CodeHMAC, c.ClientID, c.Send, msOf(c.CreatedAt),
			msOf(c.ExpiresAt), c.MaxTries}
	})
}

// objectID is 24 hex characters, as Sesame's ids.
func objectID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
