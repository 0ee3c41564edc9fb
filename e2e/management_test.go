package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
	"github.com/sesame-id/sesame/internal/token"
)

// The machine-to-machine clients the Management API tests add to the test
// tenant: one with every scope of the routes so far, one that may only read
// clients.
const (
	m2mClientID    = "m2mClientID000000000000000000001"
	m2mSecret      = "m2m-secret-that-is-long-enough-for-a-test-0001"
	readerClientID = "readerClientID000000000000000001"
	readerSecret   = "reader-secret-that-is-long-enough-for-a-test-01"
)

// managementScopes are the scopes of every Management API route so far.
var managementScopes = []string{
	"read:clients", "create:clients", "update:clients", "delete:clients", "update:client_keys",
	"read:connections", "create:connections", "update:connections", "delete:connections",
	"read:resource_servers", "create:resource_servers", "update:resource_servers", "delete:resource_servers",
	"read:client_grants", "create:client_grants", "update:client_grants", "delete:client_grants",
	"read:signing_keys", "create:signing_keys", "update:signing_keys",
	"read:users", "create:users", "update:users", "delete:users",
	"read:logs",
}

// newManagementEnv starts a Sesame over TLS (Auth0's SDKs speak only
// https) whose tenant also has the two machine-to-machine clients, granted
// their scopes on the Management API, and a grant of read:things on the
// test APIs to the first.
func newManagementEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	o.tls = true
	e := newEnv(t, o)
	e.addM2MClients()
	return e
}

func (e *env) addM2MClients() {
	e.t.Helper()
	quoted := make([]string, len(managementScopes))
	for i, s := range managementScopes {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	e.importTenant(`
clients:
  - name: Automation
    client_id: ` + m2mClientID + `
    client_secret: ` + m2mSecret + `
    app_type: non_interactive
    grant_types: [client_credentials]
  - name: Reader
    client_id: ` + readerClientID + `
    client_secret: ` + readerSecret + `
    app_type: non_interactive
    grant_types: [client_credentials]
clientGrants:
  - client_id: Automation
    audience: "` + e.URL + `api/v2/"
    scope: [` + strings.Join(quoted, ", ") + `]
  - client_id: Reader
    audience: "` + e.URL + `api/v2/"
    scope: ["read:clients"]
`)
	// A tenant file is checked on its own, so grants to the test tenant's
	// APIs go straight into the store.
	for _, aud := range []string{apiAudience, esAudience} {
		e.addGrant(m2mClientID, aud, "read:things")
	}
}

// addGrant stores a client grant and reloads the server's tenant.
func (e *env) addGrant(clientID, audience string, scopes ...string) {
	e.t.Helper()
	ctx := context.Background()
	id, err := tenant.NewClientGrantID()
	if err != nil {
		e.t.Fatal(err)
	}
	scope := make([]any, len(scopes))
	for i, s := range scopes {
		scope[i] = s
	}
	doc := map[string]any{"id": id, "client_id": clientID, "audience": audience, "scope": scope}
	err = e.App.Store.UpdateTenant(ctx, func(st *store.TenantState) error {
		st.ClientGrants = append(st.ClientGrants, store.ClientGrantRecord{ID: id, ClientID: clientID, Audience: audience,
			Data: tenant.EncodeDocument(doc), CreatedAt: time.Now(), UpdatedAt: time.Now()})
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.App.Tenant.Reload(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// importTenant imports a tenant file into the env's database over what it
// holds, and reloads the server's tenant.
func (e *env) importTenant(yaml string) {
	e.t.Helper()
	ctx := context.Background()
	f, _, err := tenant.ParseFile("extra.yaml", []byte(yaml), "", nil)
	if err != nil {
		e.t.Fatalf("tenant file: %v", err)
	}
	if _, err := tenant.Import(ctx, e.App.Store, f, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.App.Tenant.Reload(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// managementClient is the unmodified go-auth0 management package, set up as
// an application sets it up, but trusting the test server's certificate.
func (e *env) managementClient(clientID, secret string) *management.Management {
	e.t.Helper()
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.HTTP)
	domain := strings.TrimSuffix(strings.TrimPrefix(e.URL, "https://"), "/")
	m, err := management.New(domain,
		management.WithClientCredentials(ctx, clientID, secret),
		management.WithClient(e.HTTP),
		management.WithNoRetries())
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// clientCredentials asks /oauth/token for a client_credentials token.
func (e *env) clientCredentials(clientID, secret, audience, scope string) response {
	e.t.Helper()
	f := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}
	if audience != "" {
		f.Set("audience", audience)
	}
	if scope != "" {
		f.Set("scope", scope)
	}
	return e.postForm("/oauth/token", f)
}

// managementToken is a Management API token of the Automation client.
func (e *env) managementToken(clientID, secret string) string {
	e.t.Helper()
	tok := e.clientCredentials(clientID, secret, e.URL+"api/v2/", "")
	if tok.Status != 200 {
		e.t.Fatalf("client_credentials: %d %s", tok.Status, tok.Body)
	}
	return tok.str("access_token")
}

// mgmt sends a request to the Management API with token (none if "").
func (e *env) mgmt(method, path, tok string, body []byte) response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.URL+"api/v2/"+strings.TrimPrefix(path, "/"), bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return e.do(req)
}

// wantManagementError checks an answer in the Management API's error shape.
func wantManagementError(t *testing.T, r response, status int, errorCode, message string) {
	t.Helper()
	code, _ := r.JSON["statusCode"].(float64)
	if r.Status != status || int(code) != status || r.str("error") != http.StatusText(status) ||
		r.str("errorCode") != errorCode || (message != "" && r.str("message") != message) {
		t.Fatalf("got %d %s, want %d errorCode %q message %q", r.Status, r.Body, status, errorCode, message)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("error answered as %q", r.Header.Get("Content-Type"))
	}
}

func statusOf(err error) int {
	var me management.Error
	if errors.As(err, &me) {
		return me.Status()
	}
	return 0
}

var alnum32 = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)

func TestClientCredentials_TokenForTheManagementAPI(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	tok := e.clientCredentials(m2mClientID, m2mSecret, e.URL+"api/v2/", "")
	if tok.Status != 200 || tok.str("token_type") != "Bearer" || tok.JSON["expires_in"] != float64(86400) {
		t.Fatalf("token: %d %s", tok.Status, tok.Body)
	}
	if _, ok := tok.JSON["refresh_token"]; ok {
		t.Errorf("a refresh token with client_credentials: %s", tok.Body)
	}
	if _, ok := tok.JSON["id_token"]; ok {
		t.Errorf("an ID token with client_credentials: %s", tok.Body)
	}
	if tok.str("scope") != strings.Join(managementScopes, " ") {
		t.Errorf("scope = %q, want every granted scope", tok.str("scope"))
	}
	claims := jwtClaims(t, tok.str("access_token"))
	for k, want := range map[string]any{"iss": e.URL, "aud": e.URL + "api/v2/", "sub": m2mClientID + "@clients",
		"azp": m2mClientID, "gty": "client-credentials", "scope": strings.Join(managementScopes, " ")} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %v", k, claims[k], want)
		}
	}
	if alg, _ := jwtHeader(t, tok.str("access_token")); alg != "RS256" {
		t.Errorf("alg = %s, want RS256", alg)
	}

	// HTTP Basic works as well as the body (client_secret_basic).
	req, _ := http.NewRequest(http.MethodPost, e.URL+"oauth/token", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "audience": {e.URL + "api/v2/"}, "scope": {"read:clients read:clients"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(m2mClientID, m2mSecret)
	if basic := e.do(req); basic.Status != 200 || basic.str("scope") != "read:clients" {
		t.Fatalf("basic: %d %s", basic.Status, basic.Body)
	}

	// The tenant's own API: its lifetime, its grant's scopes.
	api := e.clientCredentials(m2mClientID, m2mSecret, apiAudience, "read:things")
	if api.Status != 200 || api.JSON["expires_in"] != float64(3600) || api.str("scope") != "read:things" {
		t.Fatalf("api token: %d %s", api.Status, api.Body)
	}
	if c := jwtClaims(t, api.str("access_token")); c["aud"] != apiAudience || c["gty"] != "client-credentials" {
		t.Errorf("api token claims = %v", c)
	}
	// An API's signing_alg.
	es := e.clientCredentials(m2mClientID, m2mSecret, esAudience, "")
	if es.Status != 200 || es.JSON["expires_in"] != float64(86400) {
		t.Fatalf("ES256 api token: %d %s", es.Status, es.Body)
	}
	if alg, _ := jwtHeader(t, es.str("access_token")); alg != "ES256" {
		t.Errorf("the ES256 API's token is %s", alg)
	}
}

func TestClientCredentials_Refusals(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	mgmtAud := e.URL + "api/v2/"
	for _, tc := range []struct {
		name       string
		res        response
		status     int
		code, desc string
	}{
		{"requested scope not granted", e.clientCredentials(readerClientID, readerSecret, mgmtAud, "read:clients delete:clients"),
			403, "access_denied", "Client has not been granted scopes: delete:clients"},
		{"no grant for the audience", e.clientCredentials(readerClientID, readerSecret, apiAudience, ""),
			403, "access_denied", `Client is not authorized to access "` + apiAudience + `". You need to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`},
		{"unknown audience", e.clientCredentials(m2mClientID, m2mSecret, "https://nowhere.example.com/", ""),
			403, "access_denied", "Service not enabled within domain: https://nowhere.example.com/"},
		{"no audience", e.clientCredentials(m2mClientID, m2mSecret, "", ""),
			403, "access_denied", "No audience parameter was provided, and no default audience has been configured"},
		{"wrong secret", e.clientCredentials(m2mClientID, "not-the-secret", mgmtAud, ""),
			401, "invalid_client", ""},
		{"an application that is not machine-to-machine", e.clientCredentials(webClientID, webSecret, mgmtAud, ""),
			403, "unauthorized_client", "Grant type 'client_credentials' not allowed for the client."},
		{"a public client", e.clientCredentials(nativeClientID, "", mgmtAud, ""),
			403, "unauthorized_client", "Grant type 'client_credentials' not allowed for the client."},
	} {
		t.Run(tc.name, func(t *testing.T) { wantError(t, tc.res, tc.status, tc.code, tc.desc) })
	}
}

func TestManagement_GoAuth0CreatesAClientAndReadsItBack(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	m := e.managementClient(m2mClientID, m2mSecret)
	ctx := context.Background()

	c := &management.Client{
		Name:        auth0.String("Orders Service"),
		Description: auth0.String("made through the Management API"),
		AppType:     auth0.String("non_interactive"),
		GrantTypes:  &[]string{"client_credentials"},
		Callbacks:   &[]string{"https://orders.example.com/cb"},
		JWTConfiguration: &management.ClientJWTConfiguration{
			Algorithm: auth0.String("RS256"),
		},
		ClientMetadata: &map[string]interface{}{"team": "orders"},
	}
	if err := m.Client.Create(ctx, c); err != nil {
		t.Fatalf("create: %v", err)
	}
	if !alnum32.MatchString(c.GetClientID()) || len(c.GetClientSecret()) < 43 {
		t.Fatalf("created client_id %q, secret of %d characters", c.GetClientID(), len(c.GetClientSecret()))
	}
	got, err := m.Client.Read(ctx, c.GetClientID())
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if got.GetName() != "Orders Service" || got.GetAppType() != "non_interactive" || got.GetDescription() != "made through the Management API" ||
		!slices.Equal(got.GetGrantTypes(), []string{"client_credentials"}) || !slices.Equal(got.GetCallbacks(), []string{"https://orders.example.com/cb"}) ||
		got.GetTokenEndpointAuthMethod() != "client_secret_post" || got.GetClientMetadata()["team"] != "orders" {
		t.Errorf("read back: %s", got)
	}
	if got.ClientSecret != nil {
		t.Errorf("GET returned the client secret")
	}

	// Update merges the body onto the stored client.
	if err := m.Client.Update(ctx, c.GetClientID(), &management.Client{Description: auth0.String("changed")}); err != nil {
		t.Fatalf("update: %v", err)
	}
	got, err = m.Client.Read(ctx, c.GetClientID())
	if err != nil || got.GetDescription() != "changed" || got.GetName() != "Orders Service" || got.GetClientMetadata()["team"] != "orders" {
		t.Fatalf("after update: %v %v", got, err)
	}

	list, err := m.Client.List(ctx, management.Parameter("app_type", "non_interactive"))
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var ids []string
	for _, lc := range list.Clients {
		ids = append(ids, lc.GetClientID())
		if lc.ClientSecret != nil {
			t.Errorf("list returned a client secret")
		}
	}
	if !slices.Contains(ids, c.GetClientID()) || !slices.Contains(ids, m2mClientID) || slices.Contains(ids, webClientID) || list.Total != len(ids) {
		t.Errorf("non_interactive clients = %v (total %d)", ids, list.Total)
	}

	// The secret given at creation is the one that authenticates; it is
	// not stored.
	if tok := e.clientCredentials(c.GetClientID(), c.GetClientSecret(), apiAudience, ""); tok.Status != 403 || tok.str("error") != "access_denied" {
		t.Errorf("the new client (no grant yet): %d %s", tok.Status, tok.Body)
	}
	db, err := e.App.Store.Tenant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range db.Clients {
		if bytes.Contains(rec.Data, []byte(c.GetClientSecret())) || bytes.Contains(rec.SecretHash, []byte(c.GetClientSecret())) {
			t.Errorf("the stored client %s holds the secret", rec.ClientID)
		}
		if rec.ClientID == c.GetClientID() && !bytes.Equal(rec.SecretHash, tenant.HashSecret(c.GetClientSecret())) {
			t.Errorf("the stored hash is not the secret's")
		}
	}

	if err := m.Client.Delete(ctx, c.GetClientID()); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := m.Client.Read(ctx, c.GetClientID()); statusOf(err) != 404 || !strings.Contains(err.Error(), "The client does not exist") {
		t.Errorf("read after delete: %v", err)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestManagement_GoAuth0ListsConnections(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	m := e.managementClient(m2mClientID, m2mSecret)
	ctx := context.Background()
	list, err := m.Connection.List(ctx, management.Parameter("strategy", "email"))
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var names []string
	for _, c := range list.Connections {
		names = append(names, c.GetName())
		if c.GetStrategy() != "email" || !strings.HasPrefix(c.GetID(), "con_") {
			t.Errorf("connection %s: strategy %s id %s", c.GetName(), c.GetStrategy(), c.GetID())
		}
	}
	if !slices.Contains(names, "email") || slices.Contains(names, "sms") {
		t.Errorf("email connections = %v", names)
	}
	email, err := m.Connection.ReadByName(ctx, "email")
	if err != nil {
		t.Fatalf("read by name: %v", err)
	}
	if !slices.Contains(email.GetEnabledClients(), webClientID) || !slices.Equal(email.GetRealms(), []string{"email"}) {
		t.Errorf("email connection: enabled %v realms %v", email.GetEnabledClients(), email.GetRealms())
	}
	if opts, ok := email.Options.(*management.ConnectionOptionsEmail); !ok || opts.GetOTP() == nil || opts.GetEmail().GetFrom() != "{{ application.name }} <login@example.com>" {
		t.Errorf("email options = %#v", email.Options)
	}
	// Paging: one connection a page.
	page, err := m.Connection.List(ctx, management.PerPage(1), management.Page(1))
	if err != nil || len(page.Connections) != 1 || page.Start != 1 || page.Limit != 1 || page.Total < 10 || !page.HasNext() {
		t.Fatalf("page 1 of 1: %+v %v", page, err)
	}
}

func TestManagement_GoAuth0ResourceServerAndClientGrantLifecycle(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	m := e.managementClient(m2mClientID, m2mSecret)
	ctx := context.Background()

	rs := &management.ResourceServer{
		Name:             auth0.String("Orders API"),
		Identifier:       auth0.String("https://orders.example.com/"),
		TokenLifetime:    auth0.Int(600),
		SigningAlgorithm: auth0.String("RS256"),
		Scopes: &[]management.ResourceServerScope{
			{Value: auth0.String("read:orders"), Description: auth0.String("Read orders")},
			{Value: auth0.String("write:orders")},
		},
	}
	if err := m.ResourceServer.Create(ctx, rs); err != nil {
		t.Fatalf("create resource server: %v", err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(rs.GetID()) {
		t.Errorf("resource server id %q", rs.GetID())
	}
	if err := m.ResourceServer.Create(ctx, &management.ResourceServer{Identifier: auth0.String("https://orders.example.com/")}); statusOf(err) != 409 {
		t.Errorf("a second resource server with the identifier: %v", err)
	}
	if err := m.ResourceServer.Update(ctx, rs.GetID(), &management.ResourceServer{Name: auth0.String("Orders"), TokenLifetime: auth0.Int(900)}); err != nil {
		t.Fatalf("update resource server: %v", err)
	}
	byIdentifier, err := m.ResourceServer.Read(ctx, "https://orders.example.com/")
	if err != nil || byIdentifier.GetName() != "Orders" || byIdentifier.GetTokenLifetime() != 900 || len(byIdentifier.GetScopes()) != 2 {
		t.Fatalf("read by identifier: %v %v", byIdentifier, err)
	}

	g := &management.ClientGrant{ClientID: auth0.String(readerClientID), Audience: auth0.String("https://orders.example.com/"), Scope: &[]string{"read:orders"}}
	if err := m.ClientGrant.Create(ctx, g); err != nil {
		t.Fatalf("create client grant: %v", err)
	}
	if !regexp.MustCompile(`^cgr_[A-Za-z0-9]{16}$`).MatchString(g.GetID()) {
		t.Errorf("client grant id %q", g.GetID())
	}
	if err := m.ClientGrant.Create(ctx, &management.ClientGrant{ClientID: auth0.String(readerClientID),
		Audience: auth0.String("https://orders.example.com/"), Scope: &[]string{"delete:orders"}}); statusOf(err) != 400 {
		t.Errorf("a grant of a scope the API does not define: %v", err)
	}
	tok := e.clientCredentials(readerClientID, readerSecret, "https://orders.example.com/", "")
	if tok.Status != 200 || tok.str("scope") != "read:orders" || tok.JSON["expires_in"] != float64(900) {
		t.Fatalf("token for the new API: %d %s", tok.Status, tok.Body)
	}

	if err := m.ClientGrant.Update(ctx, g.GetID(), &management.ClientGrant{Scope: &[]string{"read:orders", "write:orders"}}); err != nil {
		t.Fatalf("update client grant: %v", err)
	}
	grants, err := m.ClientGrant.List(ctx, management.Parameter("client_id", readerClientID), management.Parameter("audience", "https://orders.example.com/"))
	if err != nil || len(grants.ClientGrants) != 1 || !slices.Equal(grants.ClientGrants[0].GetScope(), []string{"read:orders", "write:orders"}) {
		t.Fatalf("grants after update: %+v %v", grants, err)
	}
	if tok := e.clientCredentials(readerClientID, readerSecret, "https://orders.example.com/", "write:orders"); tok.Status != 200 || tok.str("scope") != "write:orders" {
		t.Fatalf("token with the added scope: %d %s", tok.Status, tok.Body)
	}

	if err := m.ClientGrant.Delete(ctx, g.GetID()); err != nil {
		t.Fatalf("delete client grant: %v", err)
	}
	wantError(t, e.clientCredentials(readerClientID, readerSecret, "https://orders.example.com/", ""), 403, "access_denied",
		`Client is not authorized to access "https://orders.example.com/". You need to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`)
	if _, err := m.ClientGrant.Read(ctx, g.GetID()); statusOf(err) != 404 {
		t.Errorf("read a deleted grant: %v", err)
	}

	if err := m.ResourceServer.Delete(ctx, rs.GetID()); err != nil {
		t.Fatalf("delete resource server: %v", err)
	}
	if _, err := m.ResourceServer.Read(ctx, rs.GetID()); statusOf(err) != 404 {
		t.Errorf("read a deleted resource server: %v", err)
	}
	wantError(t, e.clientCredentials(readerClientID, readerSecret, "https://orders.example.com/", ""), 403, "access_denied",
		"Service not enabled within domain: https://orders.example.com/")
}

func TestManagement_RotateClientSecret(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	m := e.managementClient(m2mClientID, m2mSecret)
	ctx := context.Background()
	if tok := e.clientCredentials(readerClientID, readerSecret, e.URL+"api/v2/", ""); tok.Status != 200 {
		t.Fatalf("before: %d %s", tok.Status, tok.Body)
	}
	rotated, err := m.Client.RotateSecret(ctx, readerClientID)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	secret := rotated.GetClientSecret()
	if len(secret) < 43 || secret == readerSecret || rotated.GetClientID() != readerClientID {
		t.Fatalf("rotated: client %s, secret of %d characters", rotated.GetClientID(), len(secret))
	}
	wantError(t, e.clientCredentials(readerClientID, readerSecret, e.URL+"api/v2/", ""), 401, "invalid_client", "")
	tok := e.clientCredentials(readerClientID, secret, e.URL+"api/v2/", "")
	if tok.Status != 200 || tok.str("scope") != "read:clients" {
		t.Fatalf("with the new secret: %d %s", tok.Status, tok.Body)
	}
	// The rotated client drives the SDK with its new secret.
	reader := e.managementClient(readerClientID, secret)
	if _, err := reader.Client.Read(ctx, readerClientID); err != nil {
		t.Fatalf("read with the new secret: %v", err)
	}
	if got, _ := m.Client.Read(ctx, readerClientID); got == nil || got.ClientSecret != nil {
		t.Errorf("GET after a rotation returned the secret")
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Errorf("the new secret is in the log")
	}

	// A secret the caller chooses, set with PATCH, as Auth0 allows.
	const chosen = "a-secret-chosen-by-the-operator-0123456789abcdef"
	if err := m.Client.Update(ctx, readerClientID, &management.Client{ClientSecret: auth0.String(chosen)}); err != nil {
		t.Fatalf("patch client_secret: %v", err)
	}
	if tok := e.clientCredentials(readerClientID, chosen, e.URL+"api/v2/", ""); tok.Status != 200 {
		t.Fatalf("with the chosen secret: %d %s", tok.Status, tok.Body)
	}
	wantError(t, e.clientCredentials(readerClientID, secret, e.URL+"api/v2/", ""), 401, "invalid_client", "")
}

func TestManagement_GoAuth0ConnectionLifecycle(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	m := e.managementClient(m2mClientID, m2mSecret)
	ctx := context.Background()
	c := &management.Connection{
		Name:     auth0.String("newsletter"),
		Strategy: auth0.String("email"),
		//lint:ignore SA1019 enabled_clients in the connection body is what the Deploy CLI and Terraform send; it must keep working
		EnabledClients: &[]string{nativeClientID},
		Options: &management.ConnectionOptionsEmail{
			Email: &management.ConnectionOptionsEmailSettings{
				Syntax:  auth0.String("liquid"),
				From:    auth0.String("News <news@example.com>"),
				Subject: auth0.String("Your code"),
				Body:    auth0.String("<p>{{ code }}</p>"),
			},
			OTP: &management.ConnectionOptionsOTP{TimeStep: auth0.Int(300), Length: auth0.Int(6)},
		},
	}
	if err := m.Connection.Create(ctx, c); err != nil {
		t.Fatalf("create: %v", err)
	}
	if !regexp.MustCompile(`^con_[A-Za-z0-9]{16}$`).MatchString(c.GetID()) {
		t.Errorf("connection id %q", c.GetID())
	}
	// The server sends codes on it at once.
	start := e.postJSON("/passwordless/start", map[string]any{"client_id": nativeClientID, "connection": "newsletter", "email": "reader@example.com", "send": "code"})
	if start.Status != 200 {
		t.Fatalf("start on the new connection: %d %s", start.Status, start.Body)
	}
	if msg := e.SMTP.Wait(t, 1, 10*time.Second)[0]; msg.Subject != "Your code" || !strings.Contains(msg.HTML, "<p>") {
		t.Errorf("the mail does not use the connection's template: subject %q, html %q", msg.Subject, msg.HTML)
	}

	// A template that does not render is refused, and nothing changes.
	bad := &management.Connection{Options: &management.ConnectionOptionsEmail{
		Email: &management.ConnectionOptionsEmailSettings{Syntax: auth0.String("liquid"), Body: auth0.String("{% if %}")},
	}}
	if err := m.Connection.Update(ctx, c.GetID(), bad); statusOf(err) != 400 {
		t.Fatalf("a template that does not render: %v", err)
	}
	//lint:ignore SA1019 enabled_clients in the connection body is what the Deploy CLI and Terraform send; it must keep working
	if err := m.Connection.Update(ctx, c.GetID(), &management.Connection{EnabledClients: &[]string{nativeClientID, webClientID}}); err != nil {
		t.Fatalf("update: %v", err)
	}
	got, err := m.Connection.ReadByName(ctx, "newsletter")
	if err != nil || !slices.Equal(got.GetEnabledClients(), []string{nativeClientID, webClientID}) {
		t.Fatalf("after update: %v %v", got, err)
	}
	if opts, ok := got.Options.(*management.ConnectionOptionsEmail); !ok || opts.GetOTP().GetTimeStep() != 300 || opts.GetEmail().GetBody() != "<p>{{ code }}</p>" {
		t.Errorf("options after an update that did not give them: %#v", got.Options)
	}

	// A client deleted leaves the connection's enabled_clients.
	web := e.mgmt("GET", "clients/"+webClientID, e.managementToken(m2mClientID, m2mSecret), nil)
	if web.Status != 200 {
		t.Fatal(web.Status)
	}
	if err := m.Client.Delete(ctx, webClientID); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Connection.Read(ctx, c.GetID()); got == nil || !slices.Equal(got.GetEnabledClients(), []string{nativeClientID}) {
		t.Errorf("enabled_clients after the client was deleted: %v", got.GetEnabledClients())
	}

	if err := m.Connection.Delete(ctx, c.GetID()); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := m.Connection.Read(ctx, c.GetID()); statusOf(err) != 404 {
		t.Errorf("read after delete: %v", err)
	}
	start = e.postJSON("/passwordless/start", map[string]any{"client_id": nativeClientID, "connection": "newsletter", "email": "reader@example.com", "send": "code"})
	wantError(t, start, 400, "bad.connection", "Connection does not exist")
}

func TestManagement_RotateSigningKeyChangesTheJWKS(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	m := e.managementClient(m2mClientID, m2mSecret)
	ctx := context.Background()
	before, err := m.SigningKey.List(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(before) != 1 || !before[0].GetCurrent() || before[0].GetPrevious() || !strings.HasPrefix(before[0].GetCert(), "-----BEGIN CERTIFICATE-----\r\n") ||
		!strings.HasPrefix(before[0].GetPKCS7(), "-----BEGIN PKCS7-----\r\n") || len(before[0].GetThumbprint()) != 40 || len(before[0].GetFingerprint()) != 59 {
		t.Fatalf("keys before: %+v", before)
	}
	oldKID := before[0].GetKID()
	if !slices.Equal(kidsOf(e.jwks()), []string{oldKID}) {
		t.Fatalf("JWKS before = %v", kidsOf(e.jwks()))
	}

	next, err := m.SigningKey.Rotate(ctx)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if next.GetKID() == "" || next.GetKID() == oldKID || !strings.HasPrefix(next.GetCert(), "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("rotate answered %+v", next)
	}
	if kids := kidsOf(e.jwks()); !slices.Equal(kids, []string{next.GetKID(), oldKID}) {
		t.Fatalf("JWKS after = %v, want the new key and the old one", kids)
	}
	after, err := m.SigningKey.List(ctx)
	if err != nil || len(after) != 2 {
		t.Fatalf("list after: %+v %v", after, err)
	}
	for _, k := range after {
		current := k.GetKID() == next.GetKID()
		if k.GetCurrent() != current || k.GetPrevious() == current || (current == (k.CurrentUntil != nil)) {
			t.Errorf("key %s: current %v previous %v until %v", k.GetKID(), k.GetCurrent(), k.GetPrevious(), k.CurrentUntil)
		}
	}
	one, err := m.SigningKey.Read(ctx, oldKID)
	if err != nil || one.GetCert() != before[0].GetCert() {
		t.Errorf("read the old key: %v (an RS256 key's certificate changed: %v)", err, one.GetCert() != before[0].GetCert())
	}
	// The old key's tokens are still good: the Management API takes them.
	if _, err := m.Client.Read(ctx, m2mClientID); err != nil {
		t.Errorf("a token signed before the rotation: %v", err)
	}
}

func TestManagement_ScopesAndTokensAreEnforced(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	ctx := context.Background()
	reader := e.managementClient(readerClientID, readerSecret)
	if _, err := reader.Client.Read(ctx, webClientID); err != nil {
		t.Fatalf("reader reads a client: %v", err)
	}
	err := reader.Client.Delete(ctx, webClientID)
	if statusOf(err) != 403 || !strings.Contains(err.Error(), "Insufficient scope, expected any of: delete:clients") {
		t.Fatalf("reader deletes a client: %v", err)
	}
	readerTok := e.managementToken(readerClientID, readerSecret)
	wantManagementError(t, e.mgmt("DELETE", "clients/"+webClientID, readerTok, nil), 403, "insufficient_scope",
		"Insufficient scope, expected any of: delete:clients")
	wantManagementError(t, e.mgmt("GET", "connections", readerTok, nil), 403, "insufficient_scope",
		"Insufficient scope, expected any of: read:connections")
	if c := e.mgmt("GET", "clients/"+webClientID, readerTok, nil); c.Status != 200 || c.str("client_id") != webClientID {
		t.Fatalf("the web client is still there: %d %s", c.Status, c.Body)
	}

	now := time.Now()
	sign := func(c token.AccessClaims) string {
		raw, err := e.App.Keys.Sign(ctx, "RS256", c)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	good := token.AccessClaims{Issuer: e.URL, Subject: m2mClientID + "@clients", Audience: token.Audience{e.URL + "api/v2/"},
		IssuedAt: now.Unix(), Expiry: now.Add(time.Hour).Unix(), Scope: "read:clients", AZP: m2mClientID, GrantType: "client-credentials"}
	if r := e.mgmt("GET", "clients", sign(good), nil); r.Status != 200 {
		t.Fatalf("a good token made here: %d %s", r.Status, r.Body)
	}
	expired := good
	expired.IssuedAt, expired.Expiry = now.Add(-3*time.Hour).Unix(), now.Add(-2*time.Hour).Unix()
	otherIssuer := good
	otherIssuer.Issuer = "https://other-tenant.example.com/"
	userToken := good
	userToken.Subject, userToken.GrantType = "email|0123456789abcdef01234567", ""

	// A token with our issuer and audience, signed by a key we do not know.
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: foreign, KeyID: "not-ours"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(mustMarshal(t, good))
	if err != nil {
		t.Fatal(err)
	}
	unknownKey, _ := obj.CompactSerialize()

	apiTok := e.clientCredentials(m2mClientID, m2mSecret, apiAudience, "").str("access_token")
	for _, tc := range []struct {
		name, tok, message string
	}{
		{"no token", "", "Missing authentication"},
		{"a token for another audience", apiTok, "Invalid token"},
		{"an expired token", sign(expired), "Expired token received for JSON Web Token validation"},
		{"a token from another issuer", sign(otherIssuer), "Invalid token"},
		{"a token signed by a key we do not know", unknownKey, "Invalid signature received for JSON Web Token validation"},
		{"a user's token", sign(userToken), "Invalid token"},
		{"not a JWT", "abc", "Invalid token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.mgmt("GET", "clients", tc.tok, nil)
			wantManagementError(t, r, 401, "", tc.message)
			if r.Header.Get("X-RateLimit-Limit") == "" {
				t.Errorf("no rate limit headers on a refusal")
			}
		})
	}
}

func TestManagement_BadInputIsA4xxInTheManagementShape(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	tok := e.managementToken(m2mClientID, m2mSecret)
	huge := append([]byte(`{"name":"`), bytes.Repeat([]byte("a"), 70<<10)...)
	huge = append(huge, `"}`...)
	for _, tc := range []struct {
		name, method, path string
		body               []byte
		status             int
		errorCode, message string
	}{
		{"malformed JSON", "POST", "clients", []byte(`{"name":`), 400, "", "Invalid request payload JSON format"},
		{"not an object", "POST", "clients", []byte(`["a"]`), 400, "invalid_body", "Payload validation error: Expected type object but found type array"},
		{"no body", "POST", "resource-servers", []byte{}, 400, "invalid_body", "Payload validation error: Expected type object but found type null"},
		{"wrong type", "POST", "clients", []byte(`{"name":"x","callbacks":"https://a.example/cb"}`), 400, "invalid_body", `Payload validation error: field "callbacks": want a list of strings, got a string`},
		{"unknown field", "POST", "clients", []byte(`{"name":"x","grant_type":"implicit"}`), 400, "invalid_body", `Payload validation error: unknown field "grant_type"`},
		{"missing name", "POST", "connections", []byte(`{"strategy":"email"}`), 400, "invalid_body", "Payload validation error: missing name"},
		{"bad option", "POST", "connections", []byte(`{"name":"e2","strategy":"email","options":{"totp":{"length":99}}}`), 400, "invalid_body", `Payload validation error: field "options.totp.length": must be between 4 and 10`},
		{"unknown enabled client", "POST", "connections", []byte(`{"name":"e2","strategy":"email","enabled_clients":["Web App"]}`), 400, "invalid_body", `Payload validation error: field "enabled_clients[0]": unknown client "Web App"`},
		{"duplicate connection name", "POST", "connections", []byte(`{"name":"email","strategy":"email"}`), 409, "", "A connection with the same name already exists"},
		{"grant to an unknown audience", "POST", "client-grants", []byte(`{"client_id":"` + readerClientID + `","audience":"https://nowhere.example/","scope":[]}`), 400, "invalid_body", ""},
		{"the Management API as a resource server", "POST", "resource-servers", []byte(`{"identifier":"` + e.URL + `api/v2/"}`), 409, "", ""},
		{"change a connection's strategy", "PATCH", "connections/" + e.connectionID("email"), []byte(`{"strategy":"sms"}`), 400, "invalid_body", `Payload validation error: field "strategy" cannot be changed`},
		{"huge body", "POST", "clients", huge, 413, "", "Payload content length greater than maximum allowed: 65536"},
		{"unknown client", "GET", "clients/nope", nil, 404, "inexistent_client", "The client does not exist"},
		{"unknown connection", "DELETE", "connections/con_nope", nil, 404, "inexistent_connection", "The connection does not exist"},
		{"unknown grant", "PATCH", "client-grants/cgr_nope", []byte(`{"scope":[]}`), 404, "inexistent_client_grant", "The grant does not exist."},
		{"bad page", "GET", "clients?per_page=101", nil, 400, "invalid_query_string", ""},
		{"bad page type", "GET", "clients?page=first", nil, 400, "invalid_query_string", ""},
		{"unknown route", "GET", "users-by-nothing", nil, 404, "", "Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantManagementError(t, e.mgmt(tc.method, tc.path, tok, tc.body), tc.status, tc.errorCode, tc.message)
		})
	}
	// Nothing of the refused writes was stored.
	if conns := e.mgmt("GET", "connections?name=e2", tok, nil); conns.Status != 200 || string(bytes.TrimSpace(conns.Body)) != "[]" {
		t.Errorf("connections named e2: %d %s", conns.Status, conns.Body)
	}
}

// connectionID is the id of the connection name, read from the store.
func (e *env) connectionID(name string) string {
	e.t.Helper()
	st, err := e.App.Store.Tenant(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range st.Connections {
		if c.Name == name {
			return c.ID
		}
	}
	e.t.Fatalf("no connection %s", name)
	return ""
}

func TestManagement_PagingAndFields(t *testing.T) {
	e := newManagementEnv(t, envOptions{})
	tok := e.managementToken(m2mClientID, m2mSecret)
	all := e.mgmt("GET", "clients", tok, nil)
	var bare []map[string]any
	if err := json.Unmarshal(all.Body, &bare); err != nil || len(bare) < 12 {
		t.Fatalf("bare list: %d %s", all.Status, all.Body)
	}
	page := e.mgmt("GET", "clients?page=2&per_page=5&include_totals=true&fields=client_id,name", tok, nil)
	if page.Status != 200 || page.JSON["start"] != float64(10) || page.JSON["limit"] != float64(5) ||
		page.JSON["total"] != float64(len(bare)) || page.JSON["length"] != float64(len(bare)-10) {
		t.Fatalf("page 2: %s", page.Body)
	}
	items, _ := page.JSON["clients"].([]any)
	first, _ := items[0].(map[string]any)
	if len(items) != len(bare)-10 || len(first) != 2 || first["client_id"] != bare[10]["client_id"] {
		t.Errorf("page 2 items: %v", items)
	}
	excluded := e.mgmt("GET", "clients/"+webClientID+"?fields=callbacks&include_fields=false", tok, nil)
	if _, ok := excluded.JSON["callbacks"]; ok || excluded.str("name") != "Web App" {
		t.Errorf("include_fields=false: %s", excluded.Body)
	}
}

func TestManagement_RateLimitPerClient(t *testing.T) {
	limits := generousLimits()
	limits.ManagementPerClient = store.Limit{Burst: 3, Per: time.Hour}
	e := newManagementEnv(t, envOptions{limits: &limits})
	tok := e.managementToken(m2mClientID, m2mSecret)
	for i := 0; i < 3; i++ {
		r := e.mgmt("GET", "clients", tok, nil)
		if r.Status != 200 || r.Header.Get("X-RateLimit-Limit") != "3" || r.Header.Get("X-RateLimit-Remaining") != fmt.Sprint(2-i) ||
			r.Header.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("request %d: %d %v", i, r.Status, r.Header)
		}
	}
	r := e.mgmt("GET", "clients", tok, nil)
	wantManagementError(t, r, 429, "too_many_requests",
		"Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers.")
	if r.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("429 headers: %v", r.Header)
	}
	// Another client has a bucket of its own.
	if r := e.mgmt("GET", "clients", e.managementToken(readerClientID, readerSecret), nil); r.Status != 200 {
		t.Errorf("another client: %d %s", r.Status, r.Body)
	}
}

// A change through the Management API of one server is served by a second
// server on the same database after its tenant reload.
func TestManagement_ChangeReachesASecondServer(t *testing.T) {
	a := newManagementEnv(t, envOptions{})
	b := replica(t, a, envOptions{tls: true, tenantReload: 100 * time.Millisecond})
	m := a.managementClient(m2mClientID, m2mSecret)
	ctx := context.Background()
	c := &management.Client{Name: auth0.String("Billing Job"), AppType: auth0.String("non_interactive"), GrantTypes: &[]string{"client_credentials"}}
	if err := m.Client.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := m.ClientGrant.Create(ctx, &management.ClientGrant{ClientID: c.ClientID, Audience: auth0.String(apiAudience), Scope: &[]string{"read:things"}}); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, "the second server gives the new client a token", func() bool {
		return b.clientCredentials(c.GetClientID(), c.GetClientSecret(), apiAudience, "").Status == 200
	})
	t.Logf("served by the second server %v after the change (its tenant reload: every 100 ms)", took)

	// And the second server's Management API takes the first one's tokens.
	tok := a.managementToken(m2mClientID, m2mSecret)
	if r := b.mgmt("GET", "clients/"+c.GetClientID(), tok, nil); r.Status != 200 || r.str("name") != "Billing Job" {
		t.Fatalf("second server reads the client: %d %s", r.Status, r.Body)
	}
}
