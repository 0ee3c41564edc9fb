package sqlite_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/sqlite"
	"github.com/sesame-id/sesame/internal/store/storetest"
)

func openFile(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openFile(t, filepath.Join(t.TempDir(), "sesame.db"))
	})
}

// TestReplicas opens several Stores on one file, as several processes would.
func TestReplicas(t *testing.T) {
	storetest.RunReplicas(t, func(t *testing.T, n int) []store.Store {
		path := filepath.Join(t.TempDir(), "sesame.db")
		sts := make([]store.Store, n)
		for i := range sts {
			sts[i] = openFile(t, path)
		}
		return sts
	})
}

func TestOpen_RefusesInMemoryAndURIs(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db?mode=memory", "x.db?_pragma=foo"} {
		if st, err := sqlite.Open(t.Context(), path); err == nil {
			st.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

func TestOpen_ReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureSecret(t.Context(), "hmac", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openFile(t, path)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := st.EnsureSecret(t.Context(), "hmac", []byte("new"))
	if err != nil || string(got) != "kept" {
		t.Errorf("after reopening, EnsureSecret = %q, %v; want %q", got, err, "kept")
	}
}

// TestOpen_ConcurrentStartersOnFreshFile is several processes starting at
// once on a database that does not exist yet.
func TestOpen_ConcurrentStartersOnFreshFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	const n = 8
	errs := make([]error, n)
	sts := make([]*sqlite.Store, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st, err := sqlite.Open(t.Context(), path)
			if err != nil {
				errs[i] = err
				return
			}
			sts[i] = st
			errs[i] = st.Migrate(t.Context())
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("starter %d: %v", i, errs[i])
		}
		if sts[i] != nil {
			sts[i].Close()
		}
	}
}
