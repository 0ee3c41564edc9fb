package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

var migrateTests = []test{
	{"TwiceIsHarmless", func(t *testing.T, s *suite) {
		st := s.open(t)
		if _, err := st.EnsureSecret(ctx(t), "hmac", []byte("first")); err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(ctx(t)); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		got, err := st.EnsureSecret(ctx(t), "hmac", []byte("second"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "first" {
			t.Errorf("after a second Migrate the secret is %q, want the data kept (%q)", got, "first")
		}
	}},
	{"ConcurrentOnFreshDatabase", func(t *testing.T, s *suite) {
		st := s.newStore(t)
		errs := make([]error, workers)
		parallel(workers, func(i int) { errs[i] = st.Migrate(ctx(t)) })
		for i, err := range errs {
			if err != nil {
				t.Errorf("Migrate %d: %v", i, err)
			}
		}
		if _, err := st.EnsureSecret(ctx(t), "hmac", []byte("x")); err != nil {
			t.Errorf("store unusable after concurrent Migrate: %v", err)
		}
	}},
}

// sampleTenant returns a state with one of everything. Its times are in a
// non-UTC zone on purpose: they must come back as the same instants in UTC.
func sampleTenant() store.TenantState {
	zone := time.FixedZone("CEST", 2*60*60)
	c, u := t0.In(zone), t0.Add(90*time.Second).In(zone)
	return store.TenantState{
		Clients: []store.ClientRecord{
			{ClientID: "cli-b", Name: "Web", SecretHash: bytes.Repeat([]byte{0xab}, 32),
				Data: []byte(`{"name":"Web","app_type":"regular_web"}`), CreatedAt: c, UpdatedAt: u},
			{ClientID: "cli-a", Name: "SPA", SecretHash: nil,
				Data: []byte(`{"name":"SPA","app_type":"spa"}`), CreatedAt: c, UpdatedAt: u},
		},
		Connections: []store.ConnectionRecord{
			{ID: "con_email", Name: "email", Strategy: "email", Data: []byte(`{"name":"email"}`), CreatedAt: c, UpdatedAt: u},
			{ID: "con_sms", Name: "sms", Strategy: "sms", Data: []byte(`{"name":"sms"}`), CreatedAt: c, UpdatedAt: u},
		},
		ResourceServers: []store.ResourceServerRecord{
			{ID: "rs_1", Identifier: "https://api.example.com/", Data: []byte(`{"signing_alg":"RS256"}`), CreatedAt: c, UpdatedAt: u},
		},
		ClientGrants: []store.ClientGrantRecord{
			{ID: "cgr_1", ClientID: "cli-b", Audience: "https://api.example.com/", Data: []byte(`{"scope":["read"]}`), CreatedAt: c, UpdatedAt: u},
		},
		EmailProvider: []byte(`{"name":"smtp","default_from_address":"login@example.com"}`),
	}
}

// inUTC returns st with every time converted to UTC, which is how a store
// returns it.
func inUTC(st store.TenantState) store.TenantState {
	out := store.TenantState{EmailProvider: st.EmailProvider}
	for _, c := range st.Clients {
		c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		out.Clients = append(out.Clients, c)
	}
	for _, c := range st.Connections {
		c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		out.Connections = append(out.Connections, c)
	}
	for _, r := range st.ResourceServers {
		r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
		out.ResourceServers = append(out.ResourceServers, r)
	}
	for _, g := range st.ClientGrants {
		g.CreatedAt, g.UpdatedAt = g.CreatedAt.UTC(), g.UpdatedAt.UTC()
		out.ClientGrants = append(out.ClientGrants, g)
	}
	return out
}

func setTenant(t *testing.T, st store.Store, want store.TenantState) {
	t.Helper()
	err := st.UpdateTenant(ctx(t), func(s *store.TenantState) error {
		*s = want
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateTenant: %v", err)
	}
}

func checkTenant(t *testing.T, st store.Store, want store.TenantState) {
	t.Helper()
	got, err := st.Tenant(ctx(t))
	if err != nil {
		t.Fatalf("Tenant: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Tenant() =\n%+v\nwant\n%+v", got, want)
	}
}

var tenantTests = []test{
	{"EmptyAtFirst", func(t *testing.T, s *suite) {
		st := s.open(t)
		checkTenant(t, st, store.TenantState{})
		called := false
		err := st.UpdateTenant(ctx(t), func(ts *store.TenantState) error {
			called = true
			if !reflect.DeepEqual(*ts, store.TenantState{}) {
				t.Errorf("fn got %+v on an empty store, want an empty state", *ts)
			}
			return nil
		})
		if err != nil || !called {
			t.Fatalf("UpdateTenant = %v (fn called: %v)", err, called)
		}
	}},
	{"RoundTripKeepsFieldsOrderAndInstantsInUTC", func(t *testing.T, s *suite) {
		st := s.open(t)
		want := sampleTenant()
		setTenant(t, st, want)
		checkTenant(t, st, inUTC(want))
		// fn sees what Tenant returns.
		err := st.UpdateTenant(ctx(t), func(ts *store.TenantState) error {
			if !reflect.DeepEqual(*ts, inUTC(want)) {
				t.Errorf("fn got\n%+v\nwant\n%+v", *ts, inUTC(want))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		checkTenant(t, st, inUTC(want))
	}},
	{"UpdatesInsertsAndDeletes", func(t *testing.T, s *suite) {
		st := s.open(t)
		setTenant(t, st, sampleTenant())
		later := t0.Add(time.Hour)
		err := st.UpdateTenant(ctx(t), func(ts *store.TenantState) error {
			ts.Clients[0].Data = []byte(`{"name":"Web","app_type":"native"}`)
			ts.Clients[0].UpdatedAt = later
			ts.Clients = append(ts.Clients, store.ClientRecord{ClientID: "cli-c", Name: "M2M",
				Data: []byte(`{}`), CreatedAt: later, UpdatedAt: later})
			ts.Connections = ts.Connections[:1] // sms removed
			ts.ResourceServers = nil
			ts.ClientGrants = nil
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := inUTC(sampleTenant())
		want.Clients[0].Data = []byte(`{"name":"Web","app_type":"native"}`)
		want.Clients[0].UpdatedAt = later
		want.Clients = append(want.Clients, store.ClientRecord{ClientID: "cli-c", Name: "M2M",
			Data: []byte(`{}`), CreatedAt: later, UpdatedAt: later})
		want.Connections = want.Connections[:1]
		want.ResourceServers, want.ClientGrants = nil, nil
		checkTenant(t, st, want)
	}},
	{"ErrorInFnWritesNothing", func(t *testing.T, s *suite) {
		st := s.open(t)
		setTenant(t, st, sampleTenant())
		boom := errors.New("boom")
		err := st.UpdateTenant(ctx(t), func(ts *store.TenantState) error {
			ts.Clients = ts.Clients[:1]
			ts.Connections = append(ts.Connections, store.ConnectionRecord{ID: "con_x", Name: "x", Strategy: "email", CreatedAt: t0, UpdatedAt: t0})
			ts.EmailProvider = nil
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("UpdateTenant = %v, want fn's error", err)
		}
		checkTenant(t, st, inUTC(sampleTenant()))
	}},
	{"PanicInFnWritesNothingAndLeavesTheStoreUsable", func(t *testing.T, s *suite) {
		st := s.open(t)
		setTenant(t, st, sampleTenant())
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("UpdateTenant swallowed fn's panic")
				}
			}()
			st.UpdateTenant(ctx(t), func(ts *store.TenantState) error {
				ts.Clients = nil
				panic("boom")
			})
		}()
		checkTenant(t, st, inUTC(sampleTenant()))
		setTenant(t, st, store.TenantState{})
		checkTenant(t, st, store.TenantState{})
	}},
	{"DuplicateKeyFailsAndWritesNothing", func(t *testing.T, s *suite) {
		dups := map[string]func(ts *store.TenantState){
			"client_id": func(ts *store.TenantState) {
				c := ts.Clients[0]
				c.Name = "other"
				ts.Clients = append(ts.Clients, c)
			},
			"connection name": func(ts *store.TenantState) {
				c := ts.Connections[0]
				c.ID = "con_other"
				ts.Connections = append(ts.Connections, c)
			},
			"resource server identifier": func(ts *store.TenantState) {
				r := ts.ResourceServers[0]
				r.ID = "rs_other"
				ts.ResourceServers = append(ts.ResourceServers, r)
			},
			"client grant client and audience": func(ts *store.TenantState) {
				g := ts.ClientGrants[0]
				g.ID = "cgr_other"
				ts.ClientGrants = append(ts.ClientGrants, g)
			},
		}
		for name, dup := range dups {
			t.Run(name, func(t *testing.T) {
				st := s.open(t)
				setTenant(t, st, sampleTenant())
				err := st.UpdateTenant(ctx(t), func(ts *store.TenantState) error {
					ts.Clients = append(ts.Clients, store.ClientRecord{ClientID: "cli-new", Name: "new", CreatedAt: t0, UpdatedAt: t0})
					dup(ts)
					return nil
				})
				if !errors.Is(err, store.ErrAlreadyExists) {
					t.Fatalf("UpdateTenant with a duplicate %s = %v, want ErrAlreadyExists", name, err)
				}
				checkTenant(t, st, inUTC(sampleTenant()))
			})
		}
	}},
	{"EmailProviderNilOrSet", func(t *testing.T, s *suite) {
		st := s.open(t)
		want := sampleTenant()
		want.EmailProvider = nil
		setTenant(t, st, want)
		checkTenant(t, st, inUTC(want))

		want.EmailProvider = []byte(`{"name":"smtp"}`)
		setTenant(t, st, want)
		checkTenant(t, st, inUTC(want))

		want.EmailProvider = []byte(`{"name":"smtp","credentials":{"smtp_host":"mail"}}`)
		setTenant(t, st, want)
		checkTenant(t, st, inUTC(want))

		want.EmailProvider = nil
		setTenant(t, st, want)
		checkTenant(t, st, inUTC(want))
	}},
	{"ConcurrentUpdatesAreSerialized", func(t *testing.T, s *suite) {
		st := s.open(t)
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			errs[i] = st.UpdateTenant(ctx(t), func(ts *store.TenantState) error {
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
		got, err := st.Tenant(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Clients) != workers {
			t.Errorf("%d concurrent appends left %d clients: updates were lost", workers, len(got.Clients))
		}
	}},
}

var secretTests = []test{
	{"SecretReadsWithoutWriting", func(t *testing.T, s *suite) {
		st := s.open(t)
		if _, err := st.Secret(ctx(t), "hmac"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Secret of a missing name = %v, want ErrNotFound", err)
		}
		if _, err := st.Secret(ctx(t), "hmac"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Secret wrote a value: %v", err)
		}
		if _, err := st.EnsureSecret(ctx(t), "hmac", []byte("one")); err != nil {
			t.Fatal(err)
		}
		if got, err := st.Secret(ctx(t), "hmac"); err != nil || string(got) != "one" {
			t.Fatalf("Secret = %q, %v; want one", got, err)
		}
	}},
	{"FirstValueWins", func(t *testing.T, s *suite) {
		st := s.open(t)
		for _, c := range []struct{ name, candidate, want string }{
			{"hmac", "one", "one"},
			{"hmac", "two", "one"},
			{"seal", "three", "three"},
			{"hmac", "four", "one"},
		} {
			got, err := st.EnsureSecret(ctx(t), c.name, []byte(c.candidate))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("EnsureSecret(%q, %q) = %q, want %q", c.name, c.candidate, got, c.want)
			}
		}
	}},
	{"ConcurrentCallersGetOneValue", func(t *testing.T, s *suite) {
		st := s.open(t)
		got := make([][]byte, workers)
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			got[i], errs[i] = st.EnsureSecret(ctx(t), "hmac", []byte(fmt.Sprintf("candidate-%d", i)))
		})
		for i := range workers {
			if errs[i] != nil {
				t.Fatalf("EnsureSecret %d: %v", i, errs[i])
			}
			if !bytes.Equal(got[i], got[0]) {
				t.Errorf("caller %d got %q, caller 0 got %q", i, got[i], got[0])
			}
		}
	}},
}
