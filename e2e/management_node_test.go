package e2e

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/browsertest"
)

// TestManagement_NodeManagementClient makes the Management API calls of
// issue 12 with the unmodified node `auth0` package (pinned in
// internal/browsertest/package.json, installed by `npm ci`), run by node
// against Sesame over TLS: a client created, read back, granted and its
// secret rotated (and the new secret works, the old one not); connections
// listed; an email user created, found by email both ways, blocked and
// unblocked; an address's brute-force block read and lifted; the tenant log
// of a login and a failed code read; a signing key rotated (and the JWKS
// has it).
func TestManagement_NodeManagementClient(t *testing.T) {
	modules := browsertest.NodeModules(t)
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv(browsertest.RequireEnv) == "1" {
			t.Fatalf("node is not on the PATH (%s=1: the SDK tests must run here)", browsertest.RequireEnv)
		}
		t.Skipf("node SDK test skipped: node is not on the PATH (set %s=1 to make this a failure)", browsertest.RequireEnv)
	}
	e := newManagementEnv(t, envOptions{trustedProxies: loopback})

	// A login, then a failed code, of one user; and an address blocked
	// by wrong codes from one IP.
	const loginEmail, blocked, attacker = "node-login@example.com", "node-blocked@example.com", "198.51.100.77"
	login := e.otp(nativeClientID, loginEmail, e.startCode(nativeClientID, loginEmail), "openid")
	if login.Status != http.StatusOK {
		t.Fatalf("login: %d %s", login.Status, login.Body)
	}
	userID, _ := jwtClaims(t, login.str("id_token"))["sub"].(string)
	code := e.startCode(nativeClientID, loginEmail)
	wantError(t, e.otp(nativeClientID, loginEmail, wrongCode(code), "openid"), http.StatusForbidden, "invalid_grant", descWrongEmail)
	e.failFrom(blocked, attacker, 10)

	// Node trusts the test server's certificate through NODE_EXTRA_CA_CERTS.
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	jwksBefore := string(e.get("/.well-known/jwks.json").Body)
	cmd := exec.CommandContext(t.Context(), node, filepath.Join("testdata", "node", "management.cjs"))
	cmd.Env = append(os.Environ(),
		"NODE_MODULES="+modules,
		"NODE_EXTRA_CA_CERTS="+ca,
		"DOMAIN="+strings.TrimSuffix(strings.TrimPrefix(e.URL, "https://"), "/"),
		"CLIENT_ID="+m2mClientID, "CLIENT_SECRET="+m2mSecret,
		"AUDIENCE="+apiAudience,
		"EMAIL=node-made@example.com",
		"BLOCKED="+blocked,
		"LOGGED_IN="+userID,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var out struct {
		Created struct {
			ClientID string `json:"client_id"`
			Secret   string `json:"secret"`
		} `json:"created"`
		Read struct {
			Name      string `json:"name"`
			AppType   string `json:"app_type"`
			HasSecret bool   `json:"has_secret"`
		} `json:"read"`
		Grant struct {
			ClientID string `json:"client_id"`
			Audience string `json:"audience"`
		} `json:"grant"`
		RotatedSecret   string           `json:"rotated_secret"`
		Connections     []string         `json:"connections"`
		UserID          string           `json:"user_id"`
		ByEmail         []string         `json:"by_email"`
		Listed          []string         `json:"listed"`
		Blocked         bool             `json:"blocked"`
		Unblocked       bool             `json:"unblocked"`
		BlockedFor      []map[string]any `json:"blocked_for"`
		BlockedForAfter []map[string]any `json:"blocked_for_after"`
		Logs            []struct {
			LogID    string `json:"log_id"`
			Type     string `json:"type"`
			ClientID string `json:"client_id"`
			UserID   string `json:"user_id"`
			IP       string `json:"ip"`
		} `json:"logs"`
		Failed []struct {
			Type     string `json:"type"`
			ClientID string `json:"client_id"`
			UserName string `json:"user_name"`
			IP       string `json:"ip"`
		} `json:"failed"`
		LogRead struct {
			LogID string `json:"log_id"`
			Type  string `json:"type"`
		} `json:"log_read"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("node printed %q: %v", stdout.String(), err)
	}

	// The client, its grant and its secrets.
	if out.Created.ClientID == "" || out.Created.Secret == "" {
		t.Errorf("created client %+v: want an id and its secret, shown once", out.Created)
	}
	if out.Read.Name != "Made by node" || out.Read.AppType != "non_interactive" || out.Read.HasSecret {
		t.Errorf("client read back: %+v (want the name, the type and no secret)", out.Read)
	}
	if out.Grant.ClientID != out.Created.ClientID || out.Grant.Audience != apiAudience {
		t.Errorf("grant: %+v", out.Grant)
	}
	if out.RotatedSecret == "" || out.RotatedSecret == out.Created.Secret {
		t.Errorf("rotated secret %q: want a new one", out.RotatedSecret)
	}
	if r := e.clientCredentials(out.Created.ClientID, out.RotatedSecret, apiAudience, ""); r.Status != http.StatusOK {
		t.Errorf("client_credentials with the rotated secret: %d %s", r.Status, r.Body)
	}
	if r := e.clientCredentials(out.Created.ClientID, out.Created.Secret, apiAudience, ""); r.Status != http.StatusUnauthorized {
		t.Errorf("client_credentials with the old secret: %d %s, want 401", r.Status, r.Body)
	}

	if !slices.Contains(out.Connections, "email") || !slices.Contains(out.Connections, "sms") {
		t.Errorf("connections: %v", out.Connections)
	}

	// The user.
	if !strings.HasPrefix(out.UserID, "email|") || !slices.Equal(out.ByEmail, []string{out.UserID}) || !slices.Equal(out.Listed, []string{out.UserID}) {
		t.Errorf("user %q, by email %v, listed %v", out.UserID, out.ByEmail, out.Listed)
	}
	if !out.Blocked || !out.Unblocked {
		t.Errorf("blocked %v then unblocked %v", out.Blocked, out.Unblocked)
	}

	// The brute-force block, and the login it lets through once lifted.
	if len(out.BlockedFor) == 0 || len(out.BlockedForAfter) != 0 {
		t.Errorf("blocked_for %v, after the delete %v", out.BlockedFor, out.BlockedForAfter)
	}
	if r := e.guess("email", blocked, e.startCode(nativeClientID, blocked), xff(attacker)); r.Status != http.StatusOK {
		t.Errorf("login once the block was lifted: %d %s", r.Status, r.Body)
	}

	// The tenant log of the login and of the failed code.
	types := map[string]bool{}
	for _, l := range out.Logs {
		types[l.Type] = true
		if l.UserID != userID || l.ClientID != nativeClientID || l.IP == "" {
			t.Errorf("log %+v: want user %s, client %s and an IP", l, userID, nativeClientID)
		}
	}
	if !types["s"] {
		t.Errorf("log types of the user: %v, want s", types)
	}
	var failedHere bool
	for _, l := range out.Failed {
		if l.Type != "fepotpft" {
			t.Errorf("a search for type fepotpft returned %+v", l)
		}
		if l.UserName == loginEmail && l.ClientID == nativeClientID && l.IP != "" {
			failedHere = true
		}
	}
	if !failedHere {
		t.Errorf("no fepotpft for %s's wrong code among %+v", loginEmail, out.Failed)
	}
	if len(out.Logs) > 0 && out.LogRead.LogID != out.Logs[0].LogID {
		t.Errorf("log read by id: %+v, want %s", out.LogRead, out.Logs[0].LogID)
	}
	// What the API answered holds no code, token or other client's secret.
	for _, secret := range []string{code, login.str("access_token"), login.str("id_token"), m2mSecret} {
		if strings.Contains(stdout.String(), secret) {
			t.Errorf("the Management API's answers hold a code, a token or a secret")
		}
	}

	// The rotated signing key is published (the new key is published
	// before it signs).
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(string(e.get("/.well-known/jwks.json").Body), `"`+out.Kid+`"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the JWKS does not have the rotated key %q (it had %s before)", out.Kid, jwksBefore)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
