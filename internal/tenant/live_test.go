package tenant

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/sqlite"
)

// openSQLite is a migrated store in a file of the test's own.
func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "sesame.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

// importYAML imports a tenant file given as text.
func importYAML(t *testing.T, st Repository, yaml string) {
	t.Helper()
	f, _, err := ParseFile("tenant.yaml", []byte(yaml), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Import(t.Context(), st, f, t0); err != nil {
		t.Fatal(err)
	}
}

func TestLive_ReloadServesWhatTheStoreHolds(t *testing.T) {
	st := openSQLite(t)
	importYAML(t, st, devTenant)
	live := NewLive(st, nil)
	if live.Current() != nil || live.Version() != 0 {
		t.Fatalf("before Load: %v, version %d", live.Current(), live.Version())
	}
	if err := live.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := live.Current()
	if len(first.Clients) != 1 || live.Version() != 1 {
		t.Fatalf("after Load: %d clients, version %d", len(first.Clients), live.Version())
	}

	// Unchanged, even by an import that writes the same tenant again.
	importYAML(t, st, devTenant)
	for range 2 {
		if changed, err := live.Reload(t.Context()); changed || err != nil {
			t.Fatalf("Reload of an unchanged store: %v %v", changed, err)
		}
	}
	if live.Current() != first || live.Version() != 1 {
		t.Fatalf("an unchanged store moved the version to %d", live.Version())
	}

	importYAML(t, st, "clients:\n  - name: Second App\n")
	changed, err := live.Reload(t.Context())
	if !changed || err != nil {
		t.Fatalf("Reload after a change: %v %v", changed, err)
	}
	if got := live.Current(); len(got.Clients) != 2 || got.Clients[1].Name != "Second App" || live.Version() != 2 {
		t.Fatalf("after the change: %d clients, version %d", len(got.Clients), live.Version())
	}
	if len(first.Clients) != 1 {
		t.Error("the tenant a request already holds changed under it")
	}
	if changed, err := live.Reload(t.Context()); changed || err != nil || live.Version() != 2 {
		t.Fatalf("second Reload: %v %v, version %d", changed, err, live.Version())
	}
}

func TestLive_BrokenTenantKeepsTheOneInService(t *testing.T) {
	st := openSQLite(t)
	importYAML(t, st, devTenant)
	errRefused := errors.New("no client may be called Refused")
	live := NewLive(st, func(t *Tenant) error {
		for _, c := range t.Clients {
			if c.Name == "Refused" {
				return errRefused
			}
		}
		return nil
	})
	if err := live.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	good := live.Current()
	saved, err := st.Tenant(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		spoil func(*store.TenantState)
		want  string
	}{
		{"a document that does not decode", func(s *store.TenantState) {
			s.Clients[0].Data = []byte(`{"app_type": 3}`)
		}, "decode client"},
		{"a tenant the check refuses", func(s *store.TenantState) {
			s.Clients[0].Name = "Refused"
		}, errRefused.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := st.UpdateTenant(t.Context(), func(s *store.TenantState) error { tc.spoil(s); return nil }); err != nil {
				t.Fatal(err)
			}
			changed, err := live.Reload(t.Context())
			var le *LoadError
			if changed || !errors.As(err, &le) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Reload of a broken tenant: %v %v, want a *LoadError saying %q", changed, err, tc.want)
			}
			if live.Current() != good || live.Version() != 1 {
				t.Fatalf("the broken tenant replaced the one in service (version %d)", live.Version())
			}
			// Reported once: the next poll of the same store is quiet, but
			// Err still says why, and Load (a start) refuses it again.
			if changed, err := live.Reload(t.Context()); changed || err != nil {
				t.Fatalf("second Reload: %v %v", changed, err)
			}
			if err := live.Err(); !errors.As(err, &le) {
				t.Fatalf("Err = %v", err)
			}
			if err := live.Load(t.Context()); !errors.As(err, &le) || live.Current() != good {
				t.Fatalf("Load of a broken tenant: %v", err)
			}

			// The store back as it was: nothing new goes into service.
			if err := st.UpdateTenant(t.Context(), func(s *store.TenantState) error { *s = saved; return nil }); err != nil {
				t.Fatal(err)
			}
			if changed, err := live.Reload(t.Context()); changed || err != nil || live.Err() != nil {
				t.Fatalf("Reload of the tenant in service: %v %v, Err %v", changed, err, live.Err())
			}
			if live.Current() != good || live.Version() != 1 {
				t.Fatalf("version %d", live.Version())
			}
		})
	}

	importYAML(t, st, "clients:\n  - name: Second App\n")
	if changed, err := live.Reload(t.Context()); !changed || err != nil || live.Version() != 2 {
		t.Fatalf("Reload of a good change after broken ones: %v %v, version %d", changed, err, live.Version())
	}
}
