package browsertest

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// NodeModulesEnv names the variable that points at an installed
// node_modules other than the one next to this package's package.json.
const NodeModulesEnv = "SESAME_NODE_MODULES"

// packageDir is the directory of package.json: internal/browsertest in the
// module, found from the working directory, which go test sets to the
// directory of the package under test.
func packageDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "internal", "browsertest")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// pins are the dependencies of package.json, name to exact version.
func pins(t testing.TB) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(packageDir(t), "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("package.json: %v", err)
	}
	return p.Dependencies
}

// PinnedVersion is the version of an npm package that package.json pins,
// such as "auth0-js".
func PinnedVersion(t testing.TB, pkg string) string {
	t.Helper()
	v, ok := pins(t)[pkg]
	if !ok {
		t.Fatalf("package.json has no dependency %q", pkg)
	}
	return v
}

// NodeModules is the node_modules directory that `npm ci` installed from
// package.json, checked to hold exactly the pinned versions. It skips or
// fails the test (see RequireEnv) when nothing is installed, and fails it
// when what is installed is not what package.json pins.
func NodeModules(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(NodeModulesEnv)
	if dir == "" {
		dir = filepath.Join(packageDir(t), "node_modules")
	}
	deps := pins(t)
	names := make([]string, 0, len(deps))
	for name := range deps {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name, "package.json"))
		if errors.Is(err, fs.ErrNotExist) {
			unavailable(t, "%s is not installed in %s; run `npm ci` in internal/browsertest", name, dir)
		}
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Version string `json:"version"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("%s/package.json: %v", name, err)
		}
		if p.Version != deps[name] {
			t.Fatalf("%s %s is installed in %s, package.json pins %s; run `npm ci` in internal/browsertest", name, p.Version, dir, deps[name])
		}
	}
	return dir
}

// Hosts for ServeSPA. Sesame runs on 127.0.0.1 in the tests.
//
// A page on SameSite is another origin than Sesame (another port) but the
// same site, since a site is the scheme and the host's registrable domain
// and ports do not count: CORS applies, but the page's credentialed
// requests to Sesame carry Sesame's SameSite=Lax and Strict cookies. A page
// on CrossSite is another site, as a real SPA on its own domain is: its
// requests to Sesame carry only SameSite=None; Secure cookies, and only
// where the browser allows third-party cookies.
const (
	SameSite  = "127.0.0.1"
	CrossSite = "localhost"
)

// Paths at which an SPA serves the unmodified SDKs from node_modules. Both
// bundles define the global window.auth0, so a page loads one of them.
const (
	Auth0JS    = "/auth0.js"        // auth0-js: auth0.WebAuth, auth0.version.raw
	Auth0SPAJS = "/auth0-spa-js.js" // @auth0/auth0-spa-js: auth0.createAuth0Client
)

// SPA is a single-page application's origin other than Sesame's: an
// HTTP server on 127.0.0.1 with a port of its own that serves the pages a
// test gives it and the SDKs at Auth0JS and Auth0SPAJS.
type SPA struct {
	URL string // the origin, such as http://localhost:40123, without a trailing slash
	// Mux routes the requests; a test adds pages and handlers to it at any
	// time, also after the browser has loaded a page.
	Mux *http.ServeMux
}

// ServeSPA starts an SPA origin on host, SameSite or CrossSite, for the
// test. It can be started before Sesame, so that the tenant can name its
// origin, and given its pages later.
func ServeSPA(t testing.TB, host string) *SPA {
	t.Helper()
	if host != SameSite && host != CrossSite {
		t.Fatalf("ServeSPA(%q): want browsertest.SameSite or browsertest.CrossSite", host)
	}
	modules := NodeModules(t)
	mux := http.NewServeMux()
	for path, file := range map[string]string{
		Auth0JS:    filepath.Join(modules, "auth0-js", "dist", "auth0.min.js"),
		Auth0SPAJS: filepath.Join(modules, "@auth0", "auth0-spa-js", "dist", "auth0-spa-js.production.js"),
	} {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			http.ServeFile(w, r, file)
		})
	}
	// Browsers ask for it on every page; a 404 would be noise in the log.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return &SPA{URL: "http://" + net.JoinHostPort(host, port), Mux: mux}
}

// Page serves html at path (such as "/" or "/callback"), uncached.
func (s *SPA) Page(path, html string) {
	pattern := "GET " + path
	if strings.HasSuffix(path, "/") {
		pattern += "{$}" // the page, not the subtree
	}
	s.Mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(html))
	})
}
