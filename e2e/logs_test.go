package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"

	"github.com/sesame-id/sesame/internal/store"
)

// The machine-to-machine client the logs tests add: it may read the logs
// and create clients, nothing else.
const (
	logReaderClientID = "logReaderClientID000000000000001"
	logReaderSecret   = "log-reader-secret-that-is-long-enough-for-tests"
)

// addLogReader adds the Log Reader client and its grant on the Management
// API.
func (e *env) addLogReader() {
	e.t.Helper()
	e.importTenant(`
clients:
  - name: Log Reader
    client_id: ` + logReaderClientID + `
    client_secret: ` + logReaderSecret + `
    app_type: non_interactive
    grant_types: [client_credentials]
clientGrants:
  - client_id: Log Reader
    audience: "` + e.URL + `api/v2/"
    scope: ["read:logs", "create:clients"]
`)
}

// flushEvents waits until the recorder wrote what it holds.
func (e *env) flushEvents() {
	e.t.Helper()
	if err := e.App.Events.Flush(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// TestManagementLogs_GoAuth0ReadsTheTenantLog: after an email-code login
// and a wrong code, the unmodified go-auth0 management package finds the
// s and fepotpft events (with the user, the client, the IP and the user
// agent) by q, reads one by id, and walks the whole log with from/take
// exactly once; a client created through the API is a sapi, a refused
// call a fapi. A token without read:logs is refused, a q outside the
// supported subset is a 400 in the Management API's shape. No returned
// event holds a code, a secret or a token.
func TestManagementLogs_GoAuth0ReadsTheTenantLog(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	e.addLogReader()
	const ua = "sesame-e2e-logs/1.0"
	client := *e.HTTP
	client.Transport = userAgentTransport{base: e.HTTP.Transport, ua: ua}
	e.HTTP = &client
	ctx := context.Background()
	const user = "logs.reader@example.com"
	secrets := []string{webSecret, m2mSecret, readerSecret, logReaderSecret}

	// An email code from the mail, a wrong guess, the right code.
	code := e.startCode(webClientID, user)
	secrets = append(secrets, code)
	wantError(t, e.otp(webClientID, user, wrongCode(code), "openid offline_access"), http.StatusForbidden, "invalid_grant", descWrongEmail)
	tok := e.otp(webClientID, user, code, "openid offline_access")
	if tok.Status != http.StatusOK {
		t.Fatalf("login: %d %s", tok.Status, tok.Body)
	}
	userID, _ := jwtClaims(t, tok.str("id_token"))["sub"].(string)
	secrets = append(secrets, tok.str("access_token"), tok.str("id_token"), tok.str("refresh_token"))

	m := e.managementClient(logReaderClientID, logReaderSecret)
	e.flushEvents()
	s, err := m.Log.List(ctx, management.Query(`type:s AND user_id:"`+userID+`"`))
	if err != nil {
		t.Fatalf("list type:s: %v", err)
	}
	if len(s) != 1 {
		t.Fatalf("type:s of %s: %d events, want 1", userID, len(s))
	}
	ok := s[0]
	if ok.GetType() != "s" || ok.GetUserID() != userID || ok.GetUserName() != user || ok.GetClientID() != webClientID ||
		ok.GetClientName() != "Web App" || ok.GetIP() != "127.0.0.1" || ok.GetUserAgent() != ua ||
		ok.GetConnection() != "email" || ok.GetStrategy() != "email" || ok.GetStrategyType() != "passwordless" ||
		ok.GetLogID() == "" || ok.GetID() != ok.GetLogID() || ok.IsMobile == nil || *ok.IsMobile ||
		ok.Date == nil || time.Since(*ok.Date) > time.Minute || ok.TypeName() != "Success Login" {
		t.Errorf("the s event: %s", ok)
	}

	failed, err := m.Log.Search(ctx, management.Query(`type:(fepotpft OR f) AND client_id:`+webClientID),
		management.Sort("date:1"))
	if err != nil {
		t.Fatalf("search fepotpft: %v", err)
	}
	if len(failed) != 1 || failed[0].GetType() != "fepotpft" || failed[0].GetUserName() != user ||
		failed[0].GetClientID() != webClientID || failed[0].GetIP() != "127.0.0.1" || failed[0].GetDescription() != descWrongEmail {
		t.Fatalf("fepotpft events: %v", failed)
	}
	one, err := m.Log.Read(ctx, failed[0].GetLogID())
	if err != nil || one.GetLogID() != failed[0].GetLogID() || one.GetType() != "fepotpft" || one.Details["error"] != "invalid_grant" {
		t.Fatalf("read %s: %v %v", failed[0].GetLogID(), one, err)
	}
	if _, err := m.Log.Read(ctx, "90020991231235959999000000000000000000000000000000000000"); statusOf(err) != 404 {
		t.Errorf("read an unknown log_id: %v", err)
	}

	// A write through the API is a sapi; a refused one a fapi. Neither
	// holds the new client's secret.
	created := &management.Client{Name: auth0.String("Made While Logging"), AppType: auth0.String("non_interactive"),
		GrantTypes: &[]string{"client_credentials"}}
	if err := m.Client.Create(ctx, created); err != nil {
		t.Fatalf("create a client: %v", err)
	}
	secrets = append(secrets, created.GetClientSecret())
	if _, err := m.Client.List(ctx); statusOf(err) != 403 {
		t.Fatalf("list clients without read:clients: %v", err)
	}
	e.flushEvents()
	sapi, err := m.Log.List(ctx, management.Query("type:sapi"))
	if err != nil || len(sapi) != 1 {
		t.Fatalf("sapi: %v %v", sapi, err)
	}
	if ev := sapi[0]; ev.GetClientID() != logReaderClientID || ev.GetClientName() != "Log Reader" || ev.GetIP() != "127.0.0.1" ||
		ev.GetUserAgent() != ua || !strings.Contains(ev.GetDescription(), "/api/v2/clients") ||
		!strings.Contains(mustJSON(t, ev.Details), `"method":"POST"`) || !strings.Contains(mustJSON(t, ev.Details), `"statusCode":201`) {
		t.Errorf("sapi event: %s", ev)
	}
	// The refused list (403) and the unknown log_id (404) above.
	fapi, err := m.Log.List(ctx, management.Query(`type:fapi AND client_id:"`+logReaderClientID+`"`), management.Sort("date:1"))
	if err != nil || len(fapi) != 2 || !strings.Contains(mustJSON(t, fapi[0].Details), `"statusCode":404`) ||
		!strings.Contains(mustJSON(t, fapi[1].Details), `"statusCode":403`) || fapi[1].GetDescription() != "Read /api/v2/clients (403)" ||
		fapi[1].GetIP() != "127.0.0.1" || fapi[1].GetUserAgent() != ua {
		t.Fatalf("fapi: %v %v", fapi, err)
	}

	// A token without read:logs.
	reader := e.managementClient(readerClientID, readerSecret)
	if _, err := reader.Log.List(ctx); statusOf(err) != 403 || !strings.Contains(err.Error(), "Insufficient scope, expected any of: read:logs") {
		t.Errorf("reader lists the logs: %v", err)
	}
	readerTok := e.managementToken(readerClientID, readerSecret)
	secrets = append(secrets, readerTok)
	wantManagementError(t, e.mgmt("GET", "logs/"+failed[0].GetLogID(), readerTok, nil), 403, "insufficient_scope",
		"Insufficient scope, expected any of: read:logs")

	// A q, sort or paging outside what is supported: 400, never 500.
	logTok := e.managementToken(logReaderClientID, logReaderSecret)
	secrets = append(secrets, logTok)
	for _, q := range []string{
		"q=" + url.QueryEscape("type:s OR type:f"), "q=" + url.QueryEscape("connection:email"),
		"q=" + url.QueryEscape(`user_id:"unclosed`), "q=" + url.QueryEscape("date:[yesterday TO now]"),
		"q=" + url.QueryEscape("type:(s"), "q=%FF", "sort=user_id:1", "per_page=101", "page=-1",
		"take=0", "take=101", "from=abc", "include_totals=yes",
	} {
		r := e.mgmt("GET", "logs?"+q, logTok, nil)
		wantManagementError(t, r, 400, "invalid_query_string", "")
		if !strings.HasPrefix(r.str("message"), "Query validation error: ") {
			t.Errorf("%s: message %q", q, r.str("message"))
		}
	}

	// Search paging with totals: Auth0's wrapper.
	r := e.mgmt("GET", "logs?include_totals=true&per_page=2&page=0&sort=date:1", logTok, nil)
	if r.Status != 200 {
		t.Fatalf("include_totals: %d %s", r.Status, r.Body)
	}
	logs, _ := r.JSON["logs"].([]any)
	total, _ := r.JSON["total"].(float64)
	if r.JSON["start"] != float64(0) || r.JSON["limit"] != float64(2) || r.JSON["length"] != float64(2) || len(logs) != 2 || total < 5 {
		t.Errorf("include_totals: %s", r.Body)
	}
	if r := e.mgmt("GET", "logs?fields=type,log_id&include_fields=true&per_page=1", logTok, nil); r.Status != 200 ||
		!strings.HasPrefix(string(r.Body), `[{"log_id":"900`) || strings.Contains(string(r.Body), "client_id") {
		t.Errorf("fields: %d %s", r.Status, r.Body)
	}

	// Checkpoint paging: from the start, 3 at a time, every event exactly
	// once in log_id order, as the store holds them.
	e.flushEvents()
	want := e.allEvents()
	var walked []string
	from := ""
	for range 100 {
		page, err := m.Log.List(ctx, management.From(from), management.Take(3), management.Query("type:s"))
		if err != nil {
			t.Fatalf("from %q: %v", from, err)
		}
		if len(page) > 3 {
			t.Fatalf("take=3 gave %d events", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, l := range page {
			walked = append(walked, l.GetLogID())
		}
		from = page[len(page)-1].GetLogID()
	}
	var wantIDs []string
	for _, ev := range want {
		wantIDs = append(wantIDs, ev.ID)
	}
	if len(wantIDs) < 8 {
		t.Fatalf("only %d events in the store", len(wantIDs))
	}
	t.Logf("walked %d events, 3 at a time", len(walked))
	if !slices.Equal(walked, wantIDs) {
		t.Errorf("checkpoint walk gave %d events %v, the store holds %d %v", len(walked), walked, len(wantIDs), wantIDs)
	}
	if r := e.mgmt("GET", "logs?take=2&from="+wantIDs[0], logTok, nil); r.Status != 200 ||
		!strings.Contains(r.Header.Get("Link"), "from="+wantIDs[2]) || !strings.Contains(r.Header.Get("Link"), `rel="next"`) {
		t.Errorf("Link header %q", r.Header.Get("Link"))
	}

	// Nothing secret in any event the API returns.
	var raw []map[string]any
	for from := ""; ; {
		r := e.mgmt("GET", "logs?take=100&from="+from, logTok, nil)
		var page []map[string]any
		if err := json.Unmarshal(r.Body, &page); err != nil || r.Status != 200 {
			t.Fatalf("checkpoint: %d %s", r.Status, r.Body)
		}
		if len(page) == 0 {
			break
		}
		raw = append(raw, page...)
		from, _ = page[len(page)-1]["log_id"].(string)
	}
	if len(raw) < len(wantIDs) {
		t.Fatalf("%d events over the API, %d in the store", len(raw), len(wantIDs))
	}
	for _, ev := range raw {
		id, _ := ev["log_id"].(string)
		delete(ev, "log_id")
		delete(ev, "_id")
		text := mustJSON(t, ev)
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("event %s holds a secret: %s", id, text)
			}
		}
		if strings.Contains(text, "Bearer") || strings.Contains(text, "client_secret") {
			t.Errorf("event %s mentions a credential: %s", id, text)
		}
	}
	wantCleanLog(t, e, code)
}

// TestManagementLogs_EveryCallIsLogged: a refused token, an unknown
// object and a bad body are fapi events with the status; a successful
// read is not logged; the caller is the token's client.
func TestManagementLogs_EveryCallIsLogged(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	tok := e.managementToken(m2mClientID, m2mSecret)
	if r := e.mgmt("GET", "clients", "", nil); r.Status != 401 {
		t.Fatalf("no token: %d", r.Status)
	}
	if r := e.mgmt("GET", "clients/nope", tok, nil); r.Status != 404 {
		t.Fatalf("unknown client: %d", r.Status)
	}
	if r := e.mgmt("POST", "clients", tok, []byte(`{"name":`)); r.Status != 400 {
		t.Fatalf("bad body: %d", r.Status)
	}
	if r := e.mgmt("GET", "clients", tok, nil); r.Status != 200 {
		t.Fatalf("list: %d", r.Status)
	}
	r := e.mgmt("POST", "clients/"+webClientID+"/rotate-secret", tok, nil)
	if r.Status != 200 || r.str("client_secret") == "" {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	newSecret := r.str("client_secret")
	e.flushEvents()
	fapi := e.events("fapi")
	statuses := map[int]string{}
	for _, ev := range fapi {
		var d struct {
			Response struct{ StatusCode int } `json:"response"`
		}
		_ = json.Unmarshal(ev.Details, &d)
		statuses[d.Response.StatusCode] = ev.ClientID
		if ev.IP != "127.0.0.1" {
			t.Errorf("fapi %s: ip %q", ev.Description, ev.IP)
		}
	}
	if len(fapi) != 3 || statuses[401] != "" || statuses[404] != m2mClientID || statuses[400] != m2mClientID {
		t.Errorf("fapi events: %+v", fapi)
	}
	sapi := e.events("sapi")
	if len(sapi) != 1 || sapi[0].ClientID != m2mClientID || sapi[0].ClientName != "Automation" ||
		!strings.HasSuffix(sapi[0].Description, "/api/v2/clients/"+webClientID+"/rotate-secret") {
		t.Fatalf("sapi events: %+v", sapi)
	}
	for _, ev := range append(fapi, sapi...) {
		for _, s := range []string{newSecret, tok, m2mSecret} {
			if strings.Contains(ev.Description+string(ev.Details)+ev.UserAgent, s) {
				t.Errorf("%s event holds a secret", ev.Type)
			}
		}
	}
}

// TestClientCredentials_IsLoggedOnce: each client_credentials exchange is
// one seccft or feccft, naming the client and the audience asked for.
func TestClientCredentials_IsLoggedOnce(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	mgmtAud := e.URL + "api/v2/"
	if r := e.clientCredentials(m2mClientID, m2mSecret, mgmtAud, ""); r.Status != 200 {
		t.Fatalf("good secret: %d %s", r.Status, r.Body)
	}
	for _, r := range []response{
		e.clientCredentials(m2mClientID, "not-the-secret", mgmtAud, ""),    // bad secret
		e.clientCredentials(readerClientID, readerSecret, apiAudience, ""), // no client grant
		e.clientCredentials(webClientID, webSecret, mgmtAud, ""),           // not machine-to-machine
	} {
		if r.Status < 400 {
			t.Fatalf("refusal answered %d", r.Status)
		}
	}
	ok := e.events("seccft")
	if len(ok) != 1 || ok[0].ClientID != m2mClientID || ok[0].ClientName != "Automation" || ok[0].IP != "127.0.0.1" ||
		!strings.Contains(string(ok[0].Details), `"audience":"`+mgmtAud+`"`) {
		t.Fatalf("seccft events: %+v", ok)
	}
	failed := e.events("feccft")
	byClient := map[string]store.Event{}
	for _, ev := range failed {
		byClient[ev.ClientID] = ev
	}
	if len(failed) != 3 || len(byClient) != 3 {
		t.Fatalf("feccft events: %+v", failed)
	}
	if ev := byClient[m2mClientID]; !strings.Contains(string(ev.Details), `"error":"invalid_client"`) {
		t.Errorf("bad secret: %+v %s", ev, ev.Details)
	}
	if ev := byClient[readerClientID]; !strings.Contains(string(ev.Details), `"error":"access_denied"`) ||
		!strings.Contains(ev.Description, "create a \"client-grant\"") || !strings.Contains(string(ev.Details), apiAudience) {
		t.Errorf("no client grant: %+v %s", ev, ev.Details)
	}
	if ev := byClient[webClientID]; !strings.Contains(string(ev.Details), `"error":"unauthorized_client"`) {
		t.Errorf("not machine-to-machine: %+v %s", ev, ev.Details)
	}
	for _, ev := range append(ok, failed...) {
		if strings.Contains(ev.Description+string(ev.Details), "secret-that") {
			t.Errorf("%s holds a secret", ev.Type)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
