package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/token"
)

// Floors are what the machine can do at best, measured in the same run:
// the bounds a flow's throughput is read against.
type Floors struct {
	Cores int `json:"cores"`
	// RS256PerCore and ES256PerCore are signatures per second on one
	// goroutine, of an ID token's claims, through the server's own signer
	// (token.Keys).
	RS256PerCore float64 `json:"rs256_per_core"`
	ES256PerCore float64 `json:"es256_per_core"`
	// SQLiteCommits is one-row insert transactions per second on one
	// connection, with the server's settings (WAL, synchronous=NORMAL,
	// BEGIN IMMEDIATE).
	SQLiteCommits float64 `json:"sqlite_commits"`
	// Reference is the reference endpoint's throughput under the same
	// driver: a server that decodes the start body and commits one SQLite
	// row, and nothing else.
	Reference *FlowResult `json:"reference,omitempty"`
	// SQLiteServer: the server runs on SQLite, so the commit floor bounds
	// its flows (on PostgreSQL, or a server of unknown database, it does
	// not).
	SQLiteServer bool `json:"sqlite_server"`
}

// Bound is the throughput a flow could reach if the floors were the only
// cost: each resource alone, and the least of them.
type Bound struct {
	HTTP      float64 `json:"http,omitempty"`    // reference throughput / requests per iteration
	Signing   float64 `json:"signing,omitempty"` // cores × signatures per core / signatures per iteration
	Commits   float64 `json:"commits,omitempty"` // commits per second / commits per iteration
	Bound     float64 `json:"bound"`             // the least of them
	LimitedBy string  `json:"limited_by"`        // which
	Fraction  float64 `json:"fraction_of_bound"` // throughput / bound
}

func (fl *Floors) bound(f *flow, throughput float64) *Bound {
	b := &Bound{}
	if fl.Reference != nil && fl.Reference.Throughput > 0 && f.Requests > 0 {
		b.HTTP = fl.Reference.Throughput / float64(f.Requests)
	}
	if f.Signatures > 0 {
		per := fl.RS256PerCore
		if f.Alg == "ES256" {
			per = fl.ES256PerCore
		}
		b.Signing = float64(fl.Cores) * per / float64(f.Signatures)
	}
	if f.Commits > 0 && fl.SQLiteCommits > 0 && fl.SQLiteServer {
		b.Commits = fl.SQLiteCommits / float64(f.Commits)
	}
	for _, c := range []struct {
		v    float64
		name string
	}{{b.HTTP, "http"}, {b.Signing, f.Alg + " signing"}, {b.Commits, "sqlite commits"}} {
		if c.v > 0 && (b.Bound == 0 || c.v < b.Bound) {
			b.Bound, b.LimitedBy = c.v, c.name
		}
	}
	if b.Bound == 0 {
		return nil
	}
	b.Fraction = throughput / b.Bound
	return b
}

// memKeys is a token.KeyStore in memory, for the signing floor.
type memKeys struct {
	mu   sync.Mutex
	keys []store.SigningKey
}

func (m *memKeys) EnsureSigningKey(_ context.Context, c store.SigningKey) (store.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.keys {
		if k.Algorithm == c.Algorithm {
			return k, nil
		}
	}
	m.keys = append([]store.SigningKey{c}, m.keys...)
	return c, nil
}

func (m *memKeys) RotateSigningKey(context.Context, store.SigningKey, string, time.Time) (store.SigningKey, error) {
	return store.SigningKey{}, errors.New("not supported")
}

func (m *memKeys) SigningKeys(context.Context, time.Time) ([]store.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]store.SigningKey(nil), m.keys...), nil
}

// signingRate signs an ID token's claims with alg on one goroutine for d.
func signingRate(ctx context.Context, alg string, d time.Duration) (float64, error) {
	keys, err := token.LoadKeys(ctx, &memKeys{}, token.Options{})
	if err != nil {
		return 0, err
	}
	now := time.Now()
	claims := map[string]any{
		"iss": "http://127.0.0.1:8080/", "sub": "email|0123456789abcdef01234567", "aud": webClientID,
		"iat": now.Unix(), "exp": now.Unix() + 36000, "auth_time": now.Unix(),
		"at_hash": "0123456789abcdefABCDEF", "email": "u0123abcd-1@bench.example", "email_verified": true,
		"name": "u0123abcd-1@bench.example", "nickname": "u0123abcd-1", "updated_at": now.Format(time.RFC3339),
	}
	if _, err := keys.Sign(ctx, alg, claims); err != nil { // the first ES256 token makes the key
		return 0, err
	}
	n, t0 := 0, time.Now()
	for time.Since(t0) < d {
		if _, err := keys.Sign(ctx, alg, claims); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}

// openSQLite opens a file as the server's writer does: WAL,
// synchronous=NORMAL, BEGIN IMMEDIATE, one connection
// (internal/store/sqlite.Open).
func openSQLite(path string) (*sql.DB, error) {
	p := url.Values{}
	p.Add("_pragma", "busy_timeout(10000)")
	p.Add("_pragma", "synchronous(NORMAL)")
	p.Add("_pragma", "journal_mode(WAL)")
	p.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+p.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS rows (
		id INTEGER PRIMARY KEY, email TEXT NOT NULL, client_id TEXT NOT NULL, created_at INTEGER NOT NULL)`); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func insertRow(ctx context.Context, db *sql.DB, email, clientID string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO rows (email, client_id, created_at) VALUES (?, ?, ?)`,
		email, clientID, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

// commitRate commits one-row transactions on a new file in dir for d.
func commitRate(ctx context.Context, dir string, d time.Duration) (float64, error) {
	db, err := openSQLite(filepath.Join(dir, "commits.db"))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	n, t0 := 0, time.Now()
	for time.Since(t0) < d {
		if err := insertRow(ctx, db, fmt.Sprintf("u%d@bench.example", n), webClientID); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}

// referenceEnv names the database of a bench process started as the
// reference server.
const referenceEnv = "SESAME_BENCH_REFERENCE_DB"

// startReference runs this program again as the reference server, a
// process of its own like Sesame, so that it is measured the same way.
func startReference(ctx context.Context, dir string) (url string, pid int, stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), referenceEnv+"="+filepath.Join(dir, "reference.db"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", 0, nil, fmt.Errorf("reference server: %w", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok {
		stop()
		return "", 0, nil, fmt.Errorf("reference server said %q", line)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return "http://" + addr + "/", cmd.Process.Pid, stop, nil
}

// serveReference is the reference server's main: POST /reference decodes
// a /passwordless/start body as the server does (a JSON object, then its
// fields) and commits one row.
func serveReference(path string) error {
	db, err := openSQLite(path)
	if err != nil {
		return err
	}
	defer db.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr())
	http.HandleFunc("POST /reference", func(w http.ResponseWriter, r *http.Request) {
		var raw map[string]json.RawMessage
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 10<<10)).Decode(&raw); err != nil {
			http.Error(w, `{"error":"bad.request"}`, http.StatusBadRequest)
			return
		}
		var req struct {
			ClientID, ClientSecret, Connection, Email, Send string
			AuthParams                                      map[string]any
		}
		for k, dst := range map[string]any{"client_id": &req.ClientID, "client_secret": &req.ClientSecret,
			"connection": &req.Connection, "email": &req.Email, "send": &req.Send, "authParams": &req.AuthParams} {
			if v, ok := raw[k]; ok {
				if err := json.Unmarshal(v, dst); err != nil {
					http.Error(w, `{"error":"bad.request"}`, http.StatusBadRequest)
					return
				}
			}
		}
		if err := insertRow(r.Context(), db, req.Email, req.ClientID); err != nil {
			http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"_id": "0123456789abcdef01234567", "email": req.Email, "email_verified": false})
	})
	return http.Serve(ln, nil)
}

func cores() int { return runtime.NumCPU() }
