package tenant

import (
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

// Sections of a Deploy CLI tenant file that Sesame reads (source: the
// handlers in auth0-deploy-cli src/context/yaml/handlers).
const (
	sectionClients         = "clients"
	sectionConnections     = "connections"
	sectionResourceServers = "resourceServers"
	sectionClientGrants    = "clientGrants"
	sectionEmailProvider   = "emailProvider"
)

// unimplementedSections are the other sections a0deploy knows. Each is
// accepted with one warning when it holds anything.
var unimplementedSections = map[string]bool{
	"tenant":                              true,
	"pages":                               true,
	"rules":                               true,
	"rulesConfigs":                        true,
	"hooks":                               true,
	"actions":                             true,
	"actionModules":                       true,
	"triggers":                            true,
	"databases":                           true,
	"emailTemplates":                      true,
	"guardianFactors":                     true,
	"guardianFactorProviders":             true,
	"guardianFactorTemplates":             true,
	"guardianPhoneFactorMessageTypes":     true,
	"guardianPhoneFactorSelectedProvider": true,
	"guardianPhoneFactorSettings":         true,
	"guardianEmailFactorSettings":         true,
	"guardianSettings":                    true,
	"guardianPolicies":                    true,
	"roles":                               true,
	"organizations":                       true,
	"migrations":                          true,
	"attackProtection":                    true,
	"branding":                            true,
	"logStreams":                          true,
	"eventStreams":                        true,
	"prompts":                             true,
	"customDomains":                       true,
	"themes":                              true,
	"forms":                               true,
	"flows":                               true,
	"flowVaults":                          true,
	"flowVaultConnections":                true,
	"selfServiceProfiles":                 true,
	"networkACLs":                         true,
	"networkACLKeys":                      true,
	"phoneProviders":                      true,
	"phoneTemplates":                      true,
	"userAttributeProfiles":               true,
	"connectionProfiles":                  true,
	"tokenExchangeProfiles":               true,
	"riskAssessment":                      true,
	"riskAssessments":                     true,
	"riskAssessmentsNewDevice":            true,
	"rateLimitPolicies":                   true,
	"supplementalSignals":                 true,
	"clientAuthCredentials":               true,
}
