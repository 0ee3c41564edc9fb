package main

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/delivery"
	"github.com/sesame-id/sesame/internal/secrets"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/sqlite"

	_ "modernc.org/sqlite"
)

// devServer is a sesame serve on a SQLite file with the development tenant.
type devServer struct {
	p    *process
	base string
}

func startDev(t *testing.T, addr string, args ...string) *devServer {
	t.Helper()
	p := startSesame(t, append([]string{"serve"}, args...), map[string]string{"SESAME_LISTEN": addr})
	s := &devServer{p: p, base: "http://" + addr + "/"}
	waitHealthy(t, p, http.DefaultClient, s.base)
	return s
}

// credentials reads the development client's credentials a first start
// printed.
func (s *devServer) credentials(t *testing.T) (string, string) {
	t.Helper()
	out := s.p.stdout.String()
	id := regexp.MustCompile(`client_id:\s+(\S+)`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`client_secret:\s+(\S+)`).FindStringSubmatch(out)
	if id == nil || secret == nil {
		t.Fatalf("no credentials printed:\n%s", out)
	}
	return id[1], secret[1]
}

// sendCode starts an email code login for email and returns the code from
// the development delivery line that follows.
func sendCode(t *testing.T, s *devServer, id, secret, email string) string {
	t.Helper()
	from := len(s.p.stderr.String())
	status, body := postJSON(t, http.DefaultClient, s.base+"passwordless/start", map[string]any{
		"client_id": id, "client_secret": secret, "connection": "email", "email": email, "send": "code",
	})
	if status != 200 {
		t.Fatalf("start: %d %v", status, body)
	}
	return waitDelivered(t, s, from, email)
}

// waitDelivered returns the code of the first development delivery to email
// logged after byte from.
func waitDelivered(t *testing.T, s *devServer, from int, email string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		log := s.p.stderr.String()[from:]
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, "DEVELOPMENT DELIVERY") && strings.Contains(line, email) {
				if m := regexp.MustCompile(`(?:^|[^0-9])([0-9]{6})(?:[^0-9]|$)`).FindStringSubmatch(line); m != nil {
					return m[1]
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no development delivery to %s in the log:\n%s", email, s.p.stderr)
	return ""
}

func login(t *testing.T, s *devServer, id, secret, email, code string) int {
	t.Helper()
	res, err := http.PostForm(s.base+"oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/passwordless/otp"}, "client_id": {id}, "client_secret": {secret},
		"username": {email}, "otp": {code}, "realm": {"email"}, "scope": {"openid"},
	})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// codeMAC is the code HMAC as the passwordless package makes it.
func codeMAC(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

type codeRow struct {
	hmac                              []byte
	keyID, conn, identifier, clientID string
}

func liveCode(t *testing.T, dbPath, email string) codeRow {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var r codeRow
	if err := db.QueryRow(`SELECT code_hmac, key_id, connection, identifier, client_id FROM codes
		WHERE identifier = ? AND state = 'live'`, email).Scan(&r.hmac, &r.keyID, &r.conn, &r.identifier, &r.clientID); err != nil {
		t.Fatalf("the live code of %s in %s: %v", email, dbPath, err)
	}
	return r
}

// TestSecrets_ACopyOfTheDatabaseCannotCheckALiveCode is issue 13's proof: a
// running server on a SQLite file issues a code; a copy of the database
// (with its WAL) taken while it runs holds no key that reproduces the
// code's stored HMAC, while the key file beside it does.
func TestSecrets_ACopyOfTheDatabaseCannotCheckALiveCode(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s := startDev(t, freeAddr(t))
	id, secret := s.credentials(t)

	// First start: the key file beside the database, 0600, and a warning
	// naming it that says to back it up; never a key in the log.
	keyFile := filepath.Join(dir, "sesame.db.secrets.json")
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("no key file beside the database: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %o, want 600", fi.Mode().Perm())
	}
	log := s.p.stderr.String()
	if !strings.Contains(log, "sesame.db.secrets.json") || !strings.Contains(log, "back it up") {
		t.Errorf("no warning about the generated key file:\n%s", log)
	}
	set, err := secrets.Load(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	code := sendCode(t, s, id, secret, "dev@example.com")

	// Copy the database while the server runs.
	cp := filepath.Join(t.TempDir(), "copy.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		copyFile(t, filepath.Join(dir, "sesame.db"+suffix), cp+suffix)
	}
	row := liveCode(t, cp, "dev@example.com")
	if row.keyID != set.Current() {
		t.Errorf("the code was made under key %q, want the file's current key %q", row.keyID, set.Current())
	}
	parts := []string{row.conn, row.identifier, row.clientID, code}

	// Every value the copy's secrets table holds, tried as the HMAC key
	// and as a master key of the key set: none reproduces the HMAC.
	db, err := sql.Open("sqlite", cp)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT name, value FROM secrets`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var name string
		var value []byte
		if err := rows.Scan(&name, &value); err != nil {
			t.Fatal(err)
		}
		n++
		derived, err := hkdf.Key(sha256.New, value, nil, secrets.PurposeCodeHMAC, 32)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range [][]byte{value, derived} {
			if hmac.Equal(codeMAC(k, parts...), row.hmac) {
				t.Fatalf("the copy's secret %q checks the code: the key is in the database", name)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if n == 0 {
		t.Log("the copy's secrets table is empty")
	}
	// The key file does check it: the test can tell.
	derived, err := set.Derive(secrets.PurposeCodeHMAC)
	if err != nil {
		t.Fatal(err)
	}
	if !hmac.Equal(codeMAC(derived[0].Key, parts...), row.hmac) {
		t.Fatal("the key file's key does not reproduce the code's HMAC either: the test proves nothing")
	}
	raw, _ := os.ReadFile(keyFile)
	for _, m := range regexp.MustCompile(`"secret": "([^"]+)"`).FindAllStringSubmatch(string(raw), -1) {
		if strings.Contains(s.p.stderr.String()+s.p.stdout.String(), m[1]) {
			t.Fatal("a key appears in the output")
		}
	}
	if st := login(t, s, id, secret, "dev@example.com", code); st != 200 {
		t.Fatalf("login with the code: %d", st)
	}
}

func sesameCmd(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr syncBuffer
	if err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("sesame %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// TestSecrets_RotationKeepsOldCodes: a code made under the file's key
// still logs in after `sesame secrets generate` rotated the file and the
// server restarted; new codes use the new key.
func TestSecrets_RotationKeepsOldCodes(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys.json")
	dbPath := filepath.Join(dir, "s.db")
	sesameCmd(t, "secrets", "generate", "--output", keyFile)
	first, err := secrets.Load(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--database", "sqlite:" + dbPath, "--secrets-file", keyFile}
	s := startDev(t, freeAddr(t), args...)
	id, secret := s.credentials(t)
	if _, err := os.Stat(dbPath + ".secrets.json"); !os.IsNotExist(err) {
		t.Errorf("a key file was generated beside the database although one is configured: %v", err)
	}
	codeA := sendCode(t, s, id, secret, "a@example.com")
	s.p.stop(t)

	out := sesameCmd(t, "secrets", "generate", "--output", keyFile)
	rotated, err := secrets.Load(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if ids := rotated.IDs(); len(ids) != 2 || ids[1] != first.Current() || !strings.Contains(out, ids[0]) {
		t.Fatalf("after rotation: ids %v, output %q", ids, out)
	}
	if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("rotated key file mode %o", fi.Mode().Perm())
	}

	s2 := startDev(t, freeAddr(t), args...)
	if st := login(t, s2, id, secret, "a@example.com", codeA); st != 200 {
		t.Fatalf("the code made before the rotation: %d", st)
	}
	sendCode(t, s2, id, secret, "b@example.com")
	s2.p.stop(t)
	if got := liveCode(t, dbPath, "b@example.com").keyID; got != rotated.Current() {
		t.Errorf("a new code is under key %q, want the new current key %q", got, rotated.Current())
	}
}

// TestSecrets_LegacyRowsStayGood: an installation from before key sets has
// its code HMAC and outbox keys in the database, a live code and a queued
// message made under them. After the upgrade the code logs in and the
// message is delivered; nothing new uses the database's keys.
func TestSecrets_LegacyRowsStayGood(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "s.db")
	args := []string{"--database", "sqlite:" + dbPath}
	s := startDev(t, freeAddr(t), args...)
	id, secret := s.credentials(t)
	s.p.stop(t)

	// What an earlier version left behind.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	hmacKey, sealKey := make([]byte, 32), make([]byte, 32)
	for i := range hmacKey {
		hmacKey[i], sealKey[i] = byte(i), byte(100+i)
	}
	for name, k := range map[string][]byte{"code-hmac": hmacKey, "outbox-seal": sealKey} {
		if _, err := st.EnsureSecret(ctx, name, k); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	sealer, err := delivery.NewSealer(sealKey)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := sealer.Seal(delivery.Email{From: "Sesame <no-reply@example.com>", To: "queued@example.com", Subject: "Your code", Text: "Your code is 777777"})
	if err != nil {
		t.Fatal(err)
	}
	code := store.Code{ID: "0123456789abcdef01234567", Connection: "email", Identifier: "old@example.com",
		CodeHMAC: codeMAC(hmacKey, "email", "old@example.com", id, "424242"), ClientID: id, Send: "code",
		CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), MaxTries: 3}
	msg := &store.OutboxMessage{ID: "0123456789abcdef01234568", Kind: "email", Recipient: "queued@example.com", Payload: payload,
		NotAfter: now.Add(5 * time.Minute), NextAttempt: now.Add(-time.Second), Status: store.OutboxPending, CreatedAt: now}
	if _, err := st.CreateCode(ctx, code, msg, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()

	s2 := startDev(t, freeAddr(t), args...)
	if got := waitDelivered(t, s2, 0, "queued@example.com"); got != "777777" {
		t.Fatalf("the queued message delivered %q", got)
	}
	if st := login(t, s2, id, secret, "old@example.com", "424242"); st != 200 {
		t.Fatalf("the code made under the database's key: %d", st)
	}
	sendCode(t, s2, id, secret, "new@example.com")
	s2.p.stop(t)
	set, err := secrets.Load(dbPath + ".secrets.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := liveCode(t, dbPath, "new@example.com").keyID; got != set.Current() {
		t.Errorf("a new code is under key %q, want the key file's %q", got, set.Current())
	}
}

// TestSecrets_PostgreSQLWithoutKeysRefusesToStart: no key set and a
// PostgreSQL database is an error that says how to make the keys, before
// the database is touched.
func TestSecrets_PostgreSQLWithoutKeysRefusesToStart(t *testing.T) {
	var stdout, stderr syncBuffer
	err := run(context.Background(), []string{"serve", "--listen", freeAddr(t), "--database", "postgres://sesame:hunter2@127.0.0.1:1/none"},
		func(string) string { return "" }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "sesame secrets generate --output /etc/sesame/secrets.json") ||
		!strings.Contains(err.Error(), "--secrets-file") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("serve on PostgreSQL without keys: %v", err)
	}
	// With SESAME_SECRETS it gets past the keys (and fails on the
	// database, which is not there).
	set, _ := secrets.Generate(time.Now(), nil)
	env := map[string]string{"SESAME_SECRETS": string(set.Marshal())}
	err = run(context.Background(), []string{"serve", "--listen", freeAddr(t), "--database", "postgres://sesame@127.0.0.1:1/none"},
		func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || strings.Contains(err.Error(), "secrets generate") {
		t.Fatalf("serve on an absent PostgreSQL with keys: %v", err)
	}
}
