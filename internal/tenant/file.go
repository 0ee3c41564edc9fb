package tenant

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// File is a parsed and validated tenant file that is not yet resolved
// against the store: its clients may lack a client_id, its connections'
// enabled_clients and its client grants' client_id name clients (the Deploy
// CLI convention; a client_id that the file gives a client works too), and
// client secrets are in plain text. Import writes it into the store.
type File struct {
	// Name is the file name used in messages.
	Name string

	clients         []fileClient
	connections     []map[string]any
	resourceServers []map[string]any
	clientGrants    []map[string]any
	emailProvider   map[string]any // nil when the file has none
}

// fileClient is a client document without its secret.
type fileClient struct {
	doc    map[string]any
	secret string // plain text from the file, "" when absent
}

// LoadFile reads and validates a tenant file (YAML or JSON). Placeholders
// are taken from getenv (usually os.Getenv). Warnings list what the file
// asks for that Sesame does not do; the error lists every problem found.
func LoadFile(path string, getenv func(string) string) (*File, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("tenant file: %w", err)
	}
	return ParseFile(path, data, filepath.Dir(path), getenv)
}

// ParseFile is LoadFile on data already read. name is used in messages and
// its extension picks the syntax (.yaml, .yml, .json; else the content
// decides); files named in the document (email bodies) are read relative to
// baseDir.
func ParseFile(name string, data []byte, baseDir string, getenv func(string) string) (*File, []string, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	p := &parser{file: name, baseDir: baseDir, getenv: getenv, warned: map[string]bool{}}
	text := replaceKeywords(string(data), getenv, p.warn)

	var isJSON bool
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		isJSON = true
	case ".yaml", ".yml":
	default:
		isJSON = strings.HasPrefix(strings.TrimSpace(text), "{")
	}
	root, err := decodeDocument(text, isJSON)
	if err != nil {
		return nil, p.warnings, fmt.Errorf("%s: %w", name, err)
	}
	var top map[string]any
	switch v := root.(type) {
	case nil:
	case map[string]any:
		top = v
	default:
		return nil, p.warnings, fmt.Errorf("%s: want an object of sections (clients, connections…), got %s", name, typeName(root))
	}

	for _, k := range sortedKeys(top) {
		switch {
		case k == sectionClients, k == sectionConnections, k == sectionResourceServers,
			k == sectionClientGrants, k == sectionEmailProvider:
		case unimplementedSections[k]:
			if !isZero(top[k]) {
				p.warn(fmt.Sprintf("section %q is not implemented yet; ignored", k))
			}
		default:
			p.errorf("unknown section %q", k)
		}
	}

	f := &File{Name: name}
	// Order matters: connections and grants refer to clients and APIs.
	p.clients(f, p.list(top, sectionClients))
	p.connections(f, p.list(top, sectionConnections))
	p.resourceServers(f, p.list(top, sectionResourceServers))
	p.clientGrants(f, p.list(top, sectionClientGrants))
	p.emailProvider(f, top[sectionEmailProvider])

	if len(p.errs) > 0 {
		return nil, p.warnings, errors.Join(p.errs...)
	}
	return f, p.warnings, nil
}

// parser collects the errors and warnings of one file.
type parser struct {
	file     string
	baseDir  string
	getenv   func(string) string
	errs     []error
	warnings []string
	warned   map[string]bool

	clientNames map[string]int // name -> index in the file
	clientIDs   map[string]int // client_id given in the file -> index
	audiences   map[string]bool
}

func (p *parser) errorf(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", p.file, fmt.Sprintf(format, args...)))
}

func (p *parser) warn(msg string) {
	if !p.warned[msg] {
		p.warned[msg] = true
		p.warnings = append(p.warnings, msg)
	}
}

// list returns the section as a list of values; null is an empty list.
func (p *parser) list(top map[string]any, section string) []any {
	switch v := top[section].(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		p.errorf("%s: want a list, got %s", section, typeName(v))
		return nil
	}
}

// obj is one object of the file being checked, named in messages as
// `clients[0] "My App"` (errors) and `clients[My App]` (warnings).
type obj struct {
	p       *parser
	section string
	index   int // -1 for emailProvider
	label   string
}

func (p *parser) object(section string, index int, v any, labelKey string) (*obj, map[string]any) {
	o := &obj{p: p, section: section, index: index}
	m, ok := v.(map[string]any)
	if !ok {
		o.errorf("want an object, got %s", typeName(v))
		return o, nil
	}
	if s, ok := m[labelKey].(string); ok {
		o.label = s
	}
	return o, m
}

func (o *obj) errorf(format string, args ...any) {
	where := o.section
	if o.index >= 0 {
		where = fmt.Sprintf("%s[%d]", o.section, o.index)
	}
	if o.label != "" {
		where += " " + strconv.Quote(o.label)
	}
	o.p.errorf("%s: %s", where, fmt.Sprintf(format, args...))
}

func (o *obj) warnf(format string, args ...any) {
	where := o.section
	switch {
	case o.label != "":
		where = fmt.Sprintf("%s[%s]", o.section, o.label)
	case o.index >= 0:
		where = fmt.Sprintf("%s[%d]", o.section, o.index)
	}
	o.p.warn(where + ": " + fmt.Sprintf(format, args...))
}

// check validates m against fs and returns the document to store: null
// values and read-only fields are dropped, integers given as strings become
// numbers. Fields with errors are left out. warn is false inside a field
// that is itself ignored, so that it is reported once.
func (o *obj) check(prefix string, fs fields, m map[string]any, warn bool) map[string]any {
	out := make(map[string]any, len(m))
	for _, k := range sortedKeys(m) {
		v := m[k]
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		f, ok := fs[k]
		if !ok {
			o.errorf("unknown field %q", path)
			continue
		}
		if v == nil {
			continue
		}
		if f.support == readOnly {
			if warn {
				o.warnf("field %q is read-only; ignored", path)
			}
			continue
		}
		nv, ok := o.value(path, f, v, warn && f.support == used)
		if !ok {
			continue
		}
		if warn && f.support == ignored && !isZero(nv) {
			o.warnf("field %q is not implemented yet; ignored", path)
		}
		out[k] = nv
	}
	return out
}

func (o *obj) value(path string, f field, v any, warn bool) (any, bool) {
	bad := func(want string) (any, bool) {
		if s, ok := v.(string); ok && wholeKeyword.MatchString(s) {
			o.errorf("field %q: want %s, got placeholder %s, which is not set", path, want, s)
		} else {
			o.errorf("field %q: want %s, got %s", path, want, typeName(v))
		}
		return nil, false
	}
	switch f.kind {
	case kString:
		if _, ok := v.(string); !ok {
			return bad("a string")
		}
	case kBool:
		if _, ok := v.(bool); !ok {
			return bad("true or false")
		}
	case kInt:
		n, ok := v.(json.Number)
		if !ok || !isInt(string(n)) {
			return bad("an integer")
		}
	case kIntOrString:
		switch x := v.(type) {
		case json.Number:
			if !isInt(string(x)) {
				return bad("an integer")
			}
		case string:
			s := strings.TrimSpace(x)
			if !isInt(s) {
				return bad("an integer")
			}
			return json.Number(s), true
		default:
			return bad("an integer")
		}
	case kStrings:
		list, ok := v.([]any)
		if !ok {
			return bad("a list of strings")
		}
		for i, e := range list {
			if _, ok := e.(string); !ok {
				o.errorf("field %q: want a string, got %s", fmt.Sprintf("%s[%d]", path, i), typeName(e))
				return nil, false
			}
		}
	case kStringMap:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("an object of strings")
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			switch e.(type) {
			case nil:
			case string:
				out[k] = e
			default:
				o.errorf("field %q: want a string, got %s", path+"."+k, typeName(e))
				return nil, false
			}
		}
		return out, true
	case kObject:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("an object")
		}
		return o.check(path, f.fields, m, warn), true
	case kObjects:
		list, ok := v.([]any)
		if !ok {
			return bad("a list of objects")
		}
		out := make([]any, 0, len(list))
		for i, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				o.errorf("field %q: want an object, got %s", fmt.Sprintf("%s[%d]", path, i), typeName(e))
				return nil, false
			}
			out = append(out, o.check(fmt.Sprintf("%s[%d]", path, i), f.fields, m, warn))
		}
		return out, true
	case kFree:
		if _, ok := v.(map[string]any); !ok {
			return bad("an object")
		}
	case kAny:
	}
	return v, true
}

func (p *parser) clients(f *File, list []any) {
	p.clientNames = map[string]int{}
	p.clientIDs = map[string]int{}
	for i, v := range list {
		o, m := p.object(sectionClients, i, v, "name")
		if m == nil {
			continue
		}
		doc := o.check("", clientFields, m, true)
		secret, _ := doc["client_secret"].(string)
		delete(doc, "client_secret")

		name, _ := doc["name"].(string)
		if name == "" {
			o.errorf("missing name")
		} else if j, dup := p.clientNames[name]; dup {
			o.errorf("duplicate name (also clients[%d])", j)
		} else {
			p.clientNames[name] = i
		}
		if id, ok := doc["client_id"].(string); ok {
			switch j, dup := p.clientIDs[id]; {
			case id == "" || strings.ContainsAny(id, " \t\r\n"):
				o.errorf("field \"client_id\": must be non-empty, without spaces")
			case dup:
				o.errorf("duplicate client_id (also clients[%d])", j)
			default:
				p.clientIDs[id] = i
			}
		}
		// Fields with errors were left out of doc, so the checks below see
		// only what is valid, and report nothing twice.
		var c Client
		if err := decodeDoc(doc, &c); err != nil {
			o.errorf("%v", err)
			continue
		}
		c.applyDefaults()
		validateClient(o, &c)
		f.clients = append(f.clients, fileClient{doc: doc, secret: secret})
	}
}

func validateClient(o *obj, c *Client) {
	if !appTypes[c.AppType] {
		o.errorf("field \"app_type\": unknown value %q", c.AppType)
	} else if c.AppType != AppSPA && c.AppType != AppNative && c.AppType != AppRegularWeb && c.AppType != AppNonInteractive {
		o.warnf("app_type %q is not implemented yet; treated as regular_web", c.AppType)
	}
	if !authMethods[c.TokenEndpointAuthMethod] {
		o.errorf("field \"token_endpoint_auth_method\": unknown value %q", c.TokenEndpointAuthMethod)
	}
	for i, g := range c.GrantTypes {
		if !grantTypes[g] {
			o.errorf("field \"grant_types[%d]\": unknown grant type %q", i, g)
		}
	}
	checkURLs(o, "callbacks", c.Callbacks, false)
	checkURLs(o, "allowed_logout_urls", c.AllowedLogoutURLs, false)
	checkURLs(o, "web_origins", c.WebOrigins, true)
	checkURLs(o, "allowed_origins", c.AllowedOrigins, true)
	for _, list := range []struct {
		name    string
		entries []string
	}{{"web_origins", c.WebOrigins}, {"allowed_origins", c.AllowedOrigins}} {
		for i, e := range list.entries {
			if absoluteURL(e, true) && !IsWebOrigin(e) {
				o.warnf("%s[%d] %q is not an origin (http or https, a host, no path): it matches nothing", list.name, i, e)
			}
		}
	}
	if c.CrossOriginLoc != "" {
		if scheme, _, _, ok := splitURL(c.CrossOriginLoc); !ok || (scheme != "http" && scheme != "https") || strings.Contains(c.CrossOriginLoc, "*") {
			o.errorf("field \"cross_origin_loc\": %q is not an http or https URL", c.CrossOriginLoc)
		}
	}
	if c.CrossOriginAuth && len(c.WebOrigins) == 0 {
		o.warnf("cross_origin_authentication is on but web_origins is empty: /co/authenticate refuses every origin")
	}
	if c.LogoURI != "" && !strings.HasPrefix(c.LogoURI, "https://") {
		o.warnf("logo_uri %q is not an https URL; the login page shows no logo", c.LogoURI)
	}
	if color := c.PrimaryColor(); color != "" && !ValidColor(color) {
		o.errorf("field \"sesame.branding.primary_color\": want #RGB or #RRGGBB, got %q", color)
	}
	if j := c.JWTConfiguration; j != nil {
		if !signingAlgs[j.Alg] {
			o.errorf("field \"jwt_configuration.alg\": unknown value %q", j.Alg)
		}
		if j.LifetimeInSeconds <= 0 {
			o.errorf("field \"jwt_configuration.lifetime_in_seconds\": must be positive")
		}
	}
	if r := c.RefreshToken; r != nil {
		if !rotationTypes[r.RotationType] {
			o.errorf("field \"refresh_token.rotation_type\": want rotating or non-rotating, got %q", r.RotationType)
		}
		if !expirationTypes[r.ExpirationType] {
			o.errorf("field \"refresh_token.expiration_type\": want expiring or non-expiring, got %q", r.ExpirationType)
		}
		if r.Leeway < 0 {
			o.errorf("field \"refresh_token.leeway\": must not be negative")
		}
		if r.TokenLifetime <= 0 || r.IdleTokenLifetime <= 0 {
			o.errorf("field \"refresh_token\": token_lifetime and idle_token_lifetime must be positive")
		}
	}
}

// checkURLs checks that every entry is an absolute URL. Auth0 allows a
// wildcard in the host (https://*.example.com/cb), so '*' is accepted
// anywhere; native apps use custom schemes (com.example.app://callback).
func checkURLs(o *obj, name string, urls []string, origin bool) {
	for i, u := range urls {
		if !absoluteURL(u, origin) {
			o.errorf("field \"%s[%d]\": %q is not an absolute URL", name, i, u)
		}
	}
}

func (p *parser) connections(f *File, list []any) {
	names := map[string]int{}
	for i, v := range list {
		o, m := p.object(sectionConnections, i, v, "name")
		if m == nil {
			continue
		}
		doc := o.check("", connectionFields, m, true)
		name, _ := doc["name"].(string)
		strategy, _ := doc["strategy"].(string)
		if name == "" {
			o.errorf("missing name")
		} else if j, dup := names[name]; dup {
			o.errorf("duplicate name (also connections[%d])", j)
		} else {
			names[name] = i
		}
		if strategy == "" {
			o.errorf("missing strategy")
		}

		opts, _ := doc["options"].(map[string]any)
		switch strategy {
		case "email":
			if opts != nil {
				opts = o.check("options", emailOptionFields, opts, true)
				p.loadBody(o, opts)
				doc["options"] = opts
			}
		case "sms":
			if opts != nil {
				doc["options"] = o.check("options", smsOptionFields, opts, true)
			}
		case "":
		default:
			o.warnf("strategy %q is not implemented yet; ignored", strategy)
		}

		if list, ok := doc["enabled_clients"].([]any); ok {
			for j, e := range list {
				if !p.knownClient(e.(string)) {
					o.errorf("field \"enabled_clients[%d]\": unknown client %q", j, e)
				}
			}
		}

		if strategy == "email" || strategy == "sms" {
			c, err := decodeConnection(mustJSON(doc))
			if err != nil {
				o.errorf("%v", err)
				continue
			}
			c.applyDefaults()
			validateConnection(o, c)
		}
		f.connections = append(f.connections, doc)
	}
}

func validateConnection(o *obj, c *Connection) {
	t := c.Options.TOTP
	if t.Length < 4 || t.Length > 10 {
		o.errorf("field \"options.totp.length\": must be between 4 and 10")
	}
	if t.TimeStep <= 0 {
		o.errorf("field \"options.totp.time_step\": must be positive")
	}
	switch c.Strategy {
	case "email":
		if e := c.Options.Email; e != nil && e.Syntax != "" && e.Syntax != "liquid" {
			o.errorf("field \"options.email.syntax\": want liquid, got %q", e.Syntax)
		}
		if so := c.Options.Sesame; so != nil && so.LoginPageSend != "" && so.LoginPageSend != "code" && so.LoginPageSend != "link" {
			o.errorf("field \"options.sesame.login_page_send\": want code or link, got %q", so.LoginPageSend)
		}
	case "sms":
		if s := c.Options.Syntax; s != "" && !smsSyntaxes[s] {
			o.errorf("field \"options.syntax\": want md_with_macros or liquid, got %q", s)
		}
		if u := c.Options.GatewayURL; u != "" && !absoluteURL(u, true) {
			o.errorf("field \"options.gateway_url\": not an absolute URL")
		}
	}
}

// bodyExtensions mark an email body that names a file.
var bodyExtensions = []string{".html", ".htm", ".liquid", ".txt"}

// loadBody replaces options.email.body by the content of the file it names,
// as a0deploy does: `a0deploy export` writes the body to
// connections/<name>.html and puts "./<name>.html" in the YAML. The file is
// looked up in <dir>/connections first, then in <dir>.
func (p *parser) loadBody(o *obj, opts map[string]any) {
	email, _ := opts["email"].(map[string]any)
	body, _ := email["body"].(string)
	ref := strings.TrimSpace(body)
	if ref == "" || strings.ContainsAny(ref, "\n<>{}") || len(ref) > 1024 {
		return
	}
	named := slices.ContainsFunc(bodyExtensions, func(ext string) bool {
		return strings.HasSuffix(strings.ToLower(ref), ext)
	})
	dir := p.baseDir
	if dir == "" {
		dir = "."
	}
	candidates := []string{filepath.Join(dir, "connections", ref), filepath.Join(dir, ref)}
	if filepath.IsAbs(ref) {
		candidates = []string{ref}
	}
	for _, c := range candidates {
		st, err := os.Stat(c)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(c)
		if err != nil {
			o.errorf("field \"options.email.body\": %v", err)
			return
		}
		email["body"] = replaceKeywords(string(data), p.getenv, p.warn)
		return
	}
	if named {
		o.errorf("field \"options.email.body\": file %q not found in %s or %s", ref,
			filepath.Join(dir, "connections"), dir)
	}
}

func (p *parser) knownClient(ref string) bool {
	if _, ok := p.clientNames[ref]; ok {
		return true
	}
	_, ok := p.clientIDs[ref]
	return ok
}

func (p *parser) resourceServers(f *File, list []any) {
	p.audiences = map[string]bool{}
	seen := map[string]int{}
	for i, v := range list {
		o, m := p.object(sectionResourceServers, i, v, "identifier")
		if m == nil {
			continue
		}
		doc := o.check("", resourceServerFields, m, true)
		id, _ := doc["identifier"].(string)
		if id == "" {
			o.errorf("missing identifier")
		} else if j, dup := seen[id]; dup {
			o.errorf("duplicate identifier (also resourceServers[%d])", j)
		} else {
			seen[id] = i
			p.audiences[id] = true
		}
		var rs ResourceServer
		if err := decodeDoc(doc, &rs); err != nil {
			o.errorf("%v", err)
			continue
		}
		rs.applyDefaults()
		if !signingAlgs[rs.SigningAlg] {
			o.errorf("field \"signing_alg\": unknown value %q", rs.SigningAlg)
		}
		if rs.TokenLifetime < 0 || rs.TokenLifetimeForWeb < 0 {
			o.errorf("field \"token_lifetime\": must be positive")
		}
		for j, s := range rs.Scopes {
			if s.Value == "" {
				o.errorf("field \"scopes[%d].value\": missing", j)
			}
		}
		f.resourceServers = append(f.resourceServers, doc)
	}
}

func (p *parser) clientGrants(f *File, list []any) {
	seen := map[[2]string]int{}
	for i, v := range list {
		o, m := p.object(sectionClientGrants, i, v, "")
		if m == nil {
			continue
		}
		if client, ok := m["client_id"].(string); ok {
			if aud, ok := m["audience"].(string); ok {
				o.label = client + " " + aud
			}
		}
		doc := o.check("", clientGrantFields, m, true)
		client, _ := doc["client_id"].(string)
		aud, _ := doc["audience"].(string)
		switch {
		case client == "":
			o.errorf("missing client_id")
		case !p.knownClient(client):
			o.errorf("field \"client_id\": unknown client %q", client)
		}
		switch {
		case aud == "":
			o.errorf("missing audience")
		case !p.audiences[aud] && !strings.HasSuffix(aud, "/api/v2/"):
			o.errorf("field \"audience\": no resource server has identifier %q", aud)
		}
		key := [2]string{p.clientKey(client), aud}
		if j, dup := seen[key]; dup && client != "" && aud != "" {
			o.errorf("duplicate grant (also clientGrants[%d])", j)
		} else {
			seen[key] = i
		}
		f.clientGrants = append(f.clientGrants, doc)
	}
}

// clientKey names a client by its index, so that a grant by name and one by
// client_id for the same client count as duplicates.
func (p *parser) clientKey(ref string) string {
	if i, ok := p.clientNames[ref]; ok {
		return strconv.Itoa(i)
	}
	if i, ok := p.clientIDs[ref]; ok {
		return strconv.Itoa(i)
	}
	return ref
}

func (p *parser) emailProvider(f *File, v any) {
	if isZero(v) {
		return // a0deploy exports {} when there is no provider
	}
	o, m := p.object(sectionEmailProvider, -1, v, "")
	if m == nil {
		return
	}
	doc := o.check("", emailProviderFields, m, true)
	name, _ := doc["name"].(string)
	switch {
	case name == "":
		o.errorf("missing name")
	case !emailProviders[name]:
		o.errorf("field \"name\": unknown provider %q", name)
	case name != "smtp":
		o.warnf("provider %q is not implemented yet (only smtp); ignored", name)
	}
	if name == "smtp" {
		var ep EmailProvider
		if err := decodeDoc(doc, &ep); err != nil {
			o.errorf("%v", err)
			return
		}
		if ep.Credentials.SMTPHost == "" && (ep.Enabled == nil || *ep.Enabled) {
			o.errorf("missing credentials.smtp_host")
		}
		if ep.Credentials.SMTPPort < 0 || ep.Credentials.SMTPPort > 65535 {
			o.errorf("field \"credentials.smtp_port\": not a port number")
		}
	}
	f.emailProvider = doc
}

// decodeDoc fills v from a checked document.
func decodeDoc(doc map[string]any, v any) error {
	if err := json.Unmarshal(mustJSON(doc), v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

// mustJSON encodes a document the way it is stored: keys sorted, HTML left
// alone, so that the same document always gives the same bytes.
func mustJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Documents hold only values decoded from JSON or YAML.
		panic(fmt.Sprintf("tenant: encode document: %v", err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// isZero reports whether v asks for nothing: null, false, "", 0, [], or an
// object of such values.
func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case json.Number:
		f, err := x.Float64()
		return err == nil && f == 0
	case []any:
		return len(x) == 0
	case map[string]any:
		for _, e := range x {
			if !isZero(e) {
				return false
			}
		}
		return true
	}
	return false
}

func isInt(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
