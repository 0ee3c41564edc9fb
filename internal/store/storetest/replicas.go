package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// replicas is how many Stores share the database in RunReplicas.
const replicas = 4

// RunReplicas runs the tests that need several Stores on one database, as
// replicas (or processes) of Sesame have: each sees the others' writes and
// the atomic operations stay atomic across them. newReplicas returns n
// Stores on one fresh, empty database that has not been migrated, and
// arranges (t.Cleanup) for them to be closed.
func RunReplicas(t *testing.T, newReplicas func(t *testing.T, n int) []store.Store) {
	open := func(t *testing.T) []store.Store {
		t.Helper()
		sts := newReplicas(t, replicas)
		for _, st := range sts {
			if err := st.Migrate(ctx(t)); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
		}
		return sts
	}
	// on returns the Store goroutine i uses.
	on := func(sts []store.Store, i int) store.Store { return sts[i%len(sts)] }

	t.Run("ConcurrentMigrateOnFreshDatabase", func(t *testing.T) {
		sts := newReplicas(t, replicas)
		errs := make([]error, workers)
		parallel(workers, func(i int) { errs[i] = on(sts, i).Migrate(ctx(t)) })
		for i, err := range errs {
			if err != nil {
				t.Errorf("Migrate %d: %v", i, err)
			}
		}
		for i, st := range sts {
			if _, err := st.EnsureSecret(ctx(t), "hmac", []byte("x")); err != nil {
				t.Errorf("replica %d unusable after concurrent Migrate: %v", i, err)
			}
		}
	})

	t.Run("SeeEachOthersWrites", func(t *testing.T) {
		sts := open(t)
		a, b := sts[0], sts[1]
		setTenant(t, a, sampleTenant())
		checkTenant(t, b, inUTC(sampleTenant()))

		createCode(t, a, newCode("c1", "email", "a@example.com", "123456", t0), nil)
		verify(t, b, "email", "a@example.com", "000000", t0, store.ErrCodeWrong)
		checkAttempts(t, verify(t, b, "email", "a@example.com", "123456", t0, nil), 1)
		verify(t, a, "email", "a@example.com", "123456", t0, store.ErrCodeStale)

		u := loginAs("000000000000000000000001", "email", "a@example.com", t0, "192.0.2.1")
		login(t, a, u, true, true)
		if got := login(t, b, u, false, false); got.LoginsCount != 2 {
			t.Errorf("second login on another replica: LoginsCount %d, want 2", got.LoginsCount)
		}
		if _, err := sts[2].User(ctx(t), u.UserID); err != nil {
			t.Errorf("User on a third replica: %v", err)
		}
	})

	t.Run("EnsureAgreesAcrossReplicas", func(t *testing.T) {
		sts := open(t)
		secrets := make([][]byte, workers)
		keys := make([]store.SigningKey, workers)
		errs := make([]error, 2*workers)
		parallel(workers, func(i int) {
			secrets[i], errs[2*i] = on(sts, i).EnsureSecret(ctx(t), "hmac", []byte(fmt.Sprint("candidate-", i)))
			keys[i], errs[2*i+1] = on(sts, i).EnsureSigningKey(ctx(t), signingKey(i))
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		for i := range workers {
			if !bytes.Equal(secrets[i], secrets[0]) {
				t.Errorf("secret %d = %q, secret 0 = %q", i, secrets[i], secrets[0])
			}
			if keys[i].KID != keys[0].KID {
				t.Errorf("signing key %d = %s, key 0 = %s", i, keys[i].KID, keys[0].KID)
			}
		}
	})

	t.Run("KeyRotationHasOneWinnerAcrossReplicas", func(t *testing.T) {
		// Every replica's schedule finds the same key due and rotates it,
		// naming it as the key replaced: one rotation happens.
		sts := open(t)
		k0 := ensureKey(t, sts[0], signingKey(0))
		until := t0.Add(time.Hour)
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			_, errs[i] = on(sts, i).RotateSigningKey(ctx(t), signingKey(100+i), k0.KID, until)
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Errorf("rotations %d and %d both succeeded", winner, i)
				}
				winner = i
			case !errors.Is(err, store.ErrKeyChanged):
				t.Errorf("rotation %d: %v, want ErrKeyChanged", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no rotation succeeded")
		}
		next := signingKey(100 + winner)
		for _, st := range sts {
			checkKeys(t, st, t0, next, rotated(k0, next, until))
		}
	})

	t.Run("UpdateTenantIsSerializedAcrossReplicas", func(t *testing.T) {
		sts := open(t)
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			errs[i] = on(sts, i).UpdateTenant(ctx(t), func(ts *store.TenantState) error {
				ts.Clients = append(ts.Clients, store.ClientRecord{
					ClientID: fmt.Sprintf("cli-%02d", i), Name: fmt.Sprint(i), CreatedAt: t0, UpdatedAt: t0})
				return nil
			})
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("UpdateTenant %d: %v", i, err)
			}
		}
		got, err := sts[0].Tenant(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Clients) != workers {
			t.Errorf("%d concurrent appends on %d replicas left %d clients", workers, replicas, len(got.Clients))
		}
	})

	t.Run("GuessCodeConsumesOnceAcrossReplicas", func(t *testing.T) {
		sts := open(t)
		createCode(t, sts[0], newCode("c1", "email", "a@example.com", "123456", t0), nil)
		createCode(t, sts[0], newCode("c2", "email", "b@example.com", "123456", t0), nil)
		right := make([]error, racers)
		wrong := make([]error, racers)
		parallel(racers, func(i int) {
			_, right[i] = on(sts, i).GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac("123456")}, t0, true, store.Guard{})
			_, wrong[i] = on(sts, i+1).GuessCode(ctx(t), "email", "b@example.com", [][]byte{mac(fmt.Sprint("wrong-", i))}, t0, true, store.Guard{})
		})
		wins, counted := 0, 0
		for i := range racers {
			switch err := right[i]; {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrCodeStale):
				t.Errorf("right value %d: %v", i, err)
			}
			switch err := wrong[i]; {
			case errors.Is(err, store.ErrCodeWrong):
				counted++
			case !errors.Is(err, store.ErrAttemptsExceeded):
				t.Errorf("wrong value %d: %v", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d verifications succeeded across replicas, want exactly 1", wins)
		}
		if counted != 3 {
			t.Errorf("%d wrong tries counted across replicas, want exactly MaxTries (3)", counted)
		}
	})

	t.Run("ClaimersOnReplicasNeverShare", func(t *testing.T) {
		sts := open(t)
		const n = 24
		for i := range n {
			queue(t, sts[0], newMessage(fmt.Sprintf("m%02d", i), t0))
		}
		claimed := make([][]string, racers)
		errs := make([]error, racers)
		parallel(racers, func(w int) {
			for {
				msgs, err := on(sts, w).ClaimOutbox(ctx(t), t0, lease, 2)
				if err != nil || len(msgs) == 0 {
					errs[w] = err
					return
				}
				for _, m := range msgs {
					claimed[w] = append(claimed[w], m.ID)
				}
			}
		})
		seen := map[string]int{}
		for w := range racers {
			if errs[w] != nil {
				t.Errorf("claimer %d: %v", w, errs[w])
			}
			for _, id := range claimed[w] {
				seen[id]++
			}
		}
		if len(seen) != n {
			t.Errorf("claimed %d distinct messages, want %d", len(seen), n)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("message %s was claimed %d times", id, k)
			}
		}
	})

	t.Run("RotationHasOneWinnerAcrossReplicas", func(t *testing.T) {
		sts := open(t)
		createToken(t, sts[0], newToken("rt1", "", t0))
		errs := make([]error, racers)
		parallel(racers, func(i int) {
			_, errs[i] = on(sts, i).UseRefreshToken(ctx(t), tokenHash("rt1"), t0, true, 0, nextToken(fmt.Sprint("next-", i), t0))
		})
		wins, winner := 0, -1
		for i, err := range errs {
			switch {
			case err == nil:
				wins, winner = wins+1, i
			case !errors.Is(err, store.ErrTokenReused) && !errors.Is(err, store.ErrTokenRevoked):
				t.Errorf("rotation %d: %v", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d rotations succeeded across replicas, want exactly 1", wins)
		}
		// Without leeway the losers presented a rotated token: reuse, which
		// revokes the family, the winner's new token with it.
		_, err := sts[1].UseRefreshToken(ctx(t), tokenHash(fmt.Sprint("next-", winner)), t0, true, 0, nextToken("after", t0))
		if !errors.Is(err, store.ErrTokenRevoked) {
			t.Errorf("the winner's token after %d reuses of the rotated one: %v, want ErrTokenRevoked", racers-1, err)
		}
	})

	t.Run("RedeemAuthCodeHasOneWinnerAcrossReplicas", func(t *testing.T) {
		sts := open(t)
		createAuthCode(t, sts[0], newAuthCode("ac1", t0))
		errs := make([]error, racers)
		parallel(racers, func(i int) {
			_, errs[i] = on(sts, i).RedeemAuthCode(ctx(t), tokenHash("ac1"), t0.Add(time.Second))
		})
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrCodeStale):
				t.Errorf("redemption %d: %v", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d redemptions of one code succeeded across replicas, want exactly 1", wins)
		}
	})

	t.Run("RedeemLoginTicketHasOneWinnerAcrossReplicas", func(t *testing.T) {
		sts := open(t)
		createTicket(t, sts[0], newTicket("lt1", t0))
		errs := make([]error, racers)
		parallel(racers, func(i int) {
			_, errs[i] = on(sts, i).RedeemLoginTicket(ctx(t), tokenHash("ticket:lt1"), t0.Add(time.Second))
		})
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("redemption %d: %v", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d redemptions of one login ticket succeeded across replicas, want exactly 1", wins)
		}
	})

	t.Run("FirstLoginsOnReplicasCreateOneUser", func(t *testing.T) {
		sts := open(t)
		created := make([]bool, workers)
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			u := loginAs(fmt.Sprintf("%024d", i), "email", "a@example.com", t0, "")
			_, created[i], errs[i] = on(sts, i).LoginUser(ctx(t), u, true)
		})
		n := 0
		for i := range workers {
			if errs[i] != nil {
				t.Fatalf("LoginUser %d: %v", i, errs[i])
			}
			if created[i] {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d first logins across replicas reported created, want exactly 1", n)
		}
	})

	t.Run("BucketIsSharedAcrossReplicas", func(t *testing.T) {
		sts := open(t)
		lim := store.Limit{Burst: 15, Per: time.Hour}
		const each = 10
		allowed := make([]int, 2)
		errs := make([]error, 2)
		parallel(2, func(i int) {
			for range each {
				b, err := takeOne(sts[i], "k", lim, t0)
				if err != nil {
					errs[i] = err
					return
				}
				if b.Allowed {
					allowed[i]++
				}
			}
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("replica %d: %v", i, err)
			}
		}
		if total := allowed[0] + allowed[1]; total != lim.Burst {
			t.Errorf("two replicas taking %d tokens each from one bucket of %d got %d (%d + %d), want exactly %d",
				each, lim.Burst, total, allowed[0], allowed[1], lim.Burst)
		}
	})

	t.Run("FailuresAndBlocksAreSharedAcrossReplicas", func(t *testing.T) {
		sts := open(t)
		liveCode(t, sts[0], "email", "a@example.com", t0)
		g := pairGuard("r", "192.0.2.1", workers)
		created := make([]int, workers)
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			var res store.Guessed
			res, errs[i] = on(sts, i).GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac(fmt.Sprint("wrong-r", i))}, t0, true, g)
			created[i] = len(res.NewBlocks)
		})
		blocks := 0
		for i, err := range errs {
			if !errors.Is(err, store.ErrCodeWrong) {
				t.Fatalf("guess %d = %v", i, err)
			}
			blocks += created[i]
		}
		if blocks != 1 {
			t.Fatalf("%d failures over %d replicas created %d pair blocks, want exactly 1", workers, len(sts), blocks)
		}
		wantRefusedBy(t, sts[1], "email", "a@example.com", "192.0.2.1", t0, "r-1")
		if n, err := sts[2].ClearBlocks(ctx(t), "a@example.com"); err != nil || n != 1 {
			t.Fatalf("ClearBlocks on another replica = %d, %v; want 1, nil", n, err)
		}
		wantRefusedBy(t, sts[3], "email", "a@example.com", "192.0.2.1", t0, "")
		if ids := wrongGuess(t, sts[0], "email", "a@example.com", t0, pairGuard("s", "192.0.2.1", 2)); len(ids) != 0 {
			t.Errorf("the cleared counters still count on another replica: %v", ids)
		}
	})

	t.Run("GuessesCannotOutrunTheLockoutAcrossReplicas", func(t *testing.T) {
		sts := open(t)
		createCode(t, sts[0], manyTries("c1", "a@example.com", t0), nil)
		errs := make([]error, workers*2)
		parallel(len(errs), func(i int) {
			g := guard(fmt.Sprint("192.0.2.", i), 0, 5, 0)
			_, errs[i] = on(sts, i).GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac(fmt.Sprint("wrong-", i))}, t0, true, g)
		})
		wrong := 0
		for i, err := range errs {
			switch {
			case errors.Is(err, store.ErrCodeWrong):
				wrong++
			case !errors.Is(err, store.ErrBlocked):
				t.Errorf("guess %d = %v", i, err)
			}
		}
		if wrong != 5 {
			t.Errorf("%d guesses over %d replicas let %d through, want exactly 5", len(errs), len(sts), wrong)
		}
	})
}
