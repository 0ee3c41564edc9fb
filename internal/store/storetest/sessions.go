package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

const sessionLifetime = 24 * time.Hour

// newSession returns a session whose cookie value is id, started at now,
// with every field set.
func newSession(id string, now time.Time) store.Session {
	return store.Session{
		ID:        id,
		Hash:      tokenHash("cookie:" + id),
		UserID:    "email|000000000000000000000001",
		ClientID:  "cli-a",
		AuthTime:  now.Add(-time.Second),
		CreatedAt: now,
		ExpiresAt: now.Add(sessionLifetime),
		IP:        "192.0.2.1",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
	}
}

func createSession(t *testing.T, st store.Store, sess store.Session) {
	t.Helper()
	if err := st.CreateSession(ctx(t), sess); err != nil {
		t.Fatalf("CreateSession(%s): %v", sess.ID, err)
	}
}

// session calls Session for the session whose cookie value is id and checks
// the error.
func session(t *testing.T, st store.Store, id string, now time.Time, want error) store.Session {
	t.Helper()
	got, err := st.Session(ctx(t), tokenHash("cookie:"+id), now)
	if !errors.Is(err, want) {
		t.Fatalf("Session(%s) at %v = %v, want %v", id, now.Sub(t0), err, want)
	}
	return got
}

var sessionTests = []test{
	{"CreateAndGet", func(t *testing.T, s *suite) {
		st := s.open(t)
		sess := newSession("s1", t0)
		createSession(t, st, sess)
		if got := session(t, st, "s1", t0, nil); !reflect.DeepEqual(got, sess) {
			t.Errorf("Session =\n%+v\nwant\n%+v", got, sess)
		}
		session(t, st, "nope", t0, store.ErrNotFound)
	}},
	{"ExpiredIsNotFound", func(t *testing.T, s *suite) {
		st := s.open(t)
		sess := newSession("s1", t0)
		createSession(t, st, sess)
		session(t, st, "s1", sess.ExpiresAt.Add(-time.Millisecond), nil)
		session(t, st, "s1", sess.ExpiresAt, store.ErrNotFound)
		session(t, st, "s1", sess.ExpiresAt.Add(time.Hour), store.ErrNotFound)
	}},
	{"DuplicatesAreRefused", func(t *testing.T, s *suite) {
		st := s.open(t)
		createSession(t, st, newSession("s1", t0))
		sameHash := newSession("s2", t0)
		sameHash.Hash = tokenHash("cookie:s1")
		if err := st.CreateSession(ctx(t), sameHash); !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("CreateSession with a known hash = %v, want ErrAlreadyExists", err)
		}
		sameID := newSession("s1", t0)
		sameID.Hash = tokenHash("cookie:s3")
		if err := st.CreateSession(ctx(t), sameID); !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("CreateSession with a known ID = %v, want ErrAlreadyExists", err)
		}
	}},
	{"Delete", func(t *testing.T, s *suite) {
		st := s.open(t)
		createSession(t, st, newSession("s1", t0))
		createSession(t, st, newSession("s2", t0))
		if err := st.DeleteSession(ctx(t), tokenHash("cookie:s1")); err != nil {
			t.Fatalf("DeleteSession: %v", err)
		}
		session(t, st, "s1", t0, store.ErrNotFound)
		session(t, st, "s2", t0, nil)
		if err := st.DeleteSession(ctx(t), tokenHash("cookie:s1")); err != nil {
			t.Errorf("DeleteSession of a deleted session = %v, want nil", err)
		}
		if err := st.DeleteSession(ctx(t), tokenHash("cookie:nope")); err != nil {
			t.Errorf("DeleteSession(unknown) = %v, want nil", err)
		}
	}},
}
