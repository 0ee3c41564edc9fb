package tenant

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/sesame-id/sesame/internal/store"
)

// Live holds the tenant in service: the one copy that every part of a
// running server reads. It loads the tenant from the store, and reloads it
// when the stored tenant changed (another replica imported a tenant file,
// the Management API wrote a change); a changed tenant that does not load is
// reported and the one in service stays. Current is lock-free; Load and
// Reload run one at a time.
//
// Dependents are not notified of a change: they call Current each time
// they need the tenant (once per request, and use that one throughout), so
// they always see the tenant in service.
type Live struct {
	repo  Repository
	check func(*Tenant) error

	cur atomic.Pointer[liveTenant]

	mu   sync.Mutex // held by Load and Reload; guards what follows
	seen [sha256.Size]byte
	read bool  // seen holds the hash of the stored tenant last read
	err  error // why that stored tenant does not load; nil when it is in service
}

// liveTenant is a tenant in service and where it came from.
type liveTenant struct {
	t       *Tenant
	version uint64
	hash    [sha256.Size]byte // of the stored state it was decoded from
}

// LoadError is a stored tenant that does not load: it does not decode, or
// the check given to NewLive refused it. Its message is the cause's.
type LoadError struct {
	Err error
}

func (e *LoadError) Error() string { return e.Err.Error() }

func (e *LoadError) Unwrap() error { return e.Err }

// NewLive returns a holder of the tenant stored in repo, with nothing in
// service until Load. check, when not nil, is asked about every tenant
// before it goes into service (the server renders every template once), and
// a tenant it refuses does not go into service.
func NewLive(repo Repository, check func(*Tenant) error) *Live {
	return &Live{repo: repo, check: check}
}

// Load reads the stored tenant and puts it in service. An error from the
// store is returned as it is; a tenant that does not load is a *LoadError.
// Either way the tenant in service, if any, stays. Unlike Reload, Load
// reports a tenant that does not load every time, so that a server starting
// on one can refuse to start.
func (l *Live) Load(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.load(ctx, true)
	return err
}

// Reload reads the stored tenant and, when it changed since the last Load or
// Reload, puts it in service. It reports whether another tenant went into
// service (and Version moved). An error from the store is returned as it
// is, every time. A changed tenant that does not load is a *LoadError,
// returned once for that change: the tenant in service stays, a later
// Reload of the same stored tenant returns nil, and Err keeps saying why.
//
// A writer calls Reload right after it changed the store, so that this
// replica serves the change at once; the other replicas find it at their
// next poll.
func (l *Live) Reload(ctx context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.load(ctx, false)
}

func (l *Live) load(ctx context.Context, again bool) (bool, error) {
	state, err := l.repo.Tenant(ctx)
	if err != nil {
		return false, err
	}
	sum := stateHash(state)
	if l.read && sum == l.seen && !again {
		return false, nil
	}
	l.seen, l.read = sum, true
	cur := l.cur.Load()
	if cur != nil && cur.hash == sum {
		// Back to the tenant in service, after one that did not load.
		l.err = nil
		return false, nil
	}
	t, err := FromState(state)
	if err == nil && l.check != nil {
		err = l.check(t)
	}
	if err != nil {
		l.err = &LoadError{Err: err}
		return false, l.err
	}
	next := &liveTenant{t: t, version: 1, hash: sum}
	if cur != nil {
		next.version = cur.version + 1
	}
	l.cur.Store(next)
	l.err = nil
	return true, nil
}

// Current returns the tenant in service, or nil before the first Load.
// Callers share it and must not modify it.
func (l *Live) Current() *Tenant {
	if cur := l.cur.Load(); cur != nil {
		return cur.t
	}
	return nil
}

// Version numbers the tenants put in service: 0 before the first, then 1,
// 2… each time Load or Reload puts another in service. An unchanged store
// leaves it where it is.
func (l *Live) Version() uint64 {
	if cur := l.cur.Load(); cur != nil {
		return cur.version
	}
	return 0
}

// Err says why the stored tenant does not load, when it does not (the
// tenant in service is then an earlier one); nil when the stored tenant
// last read is the one in service.
func (l *Live) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Check asks the check given to NewLive about t, as Load and Reload ask it
// about a tenant before it goes into service, so that a writer can refuse
// a change that would not load before it stores it. It is nil without a
// check.
func (l *Live) Check(t *Tenant) error {
	if l.check == nil {
		return nil
	}
	return l.check(t)
}

// stateHash is a digest of everything stored about the tenant, so that
// Reload can tell whether it changed without keeping a copy (the store has
// no version of its own). It hashes the state's JSON encoding: every field
// of every record counts, a field added to a record later included, and
// no two states give the same bytes.
func stateHash(s store.TenantState) [sha256.Size]byte {
	b, err := json.Marshal(s)
	if err != nil {
		// Records hold strings, bytes and times only.
		panic(fmt.Sprintf("tenant: encode stored state: %v", err))
	}
	return sha256.Sum256(b)
}
