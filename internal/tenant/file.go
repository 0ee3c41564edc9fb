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
// client secrets are already hashed. Import writes it into the store.
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
	doc        map[string]any
	secretHash []byte // of the file's client_secret, nil when it has none
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
//
// Each object is checked by the function the Management API uses for one
// object (ValidateClient and its siblings), and the whole by CheckTenant;
// their messages are reported with the object's place in the file in front.
func ParseFile(name string, data []byte, baseDir string, getenv func(string) string) (*File, []string, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	p := &parser{file: name, baseDir: baseDir, getenv: getenv, warned: map[string]bool{}, items: map[string][]item{}}
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
		case slices.Contains(sections, k):
		case unimplementedSections[k]:
			if !isZero(top[k]) {
				p.warn(fmt.Sprintf("section %q is not implemented yet; ignored", k))
			}
			if k == "attackProtection" {
				p.attackProtection(top[k])
			}
		default:
			p.errorf(item{index: -1}, "unknown section %q", k)
		}
	}

	f := &File{Name: name}
	// t has one object per item of each list, an empty one for an item
	// that is not an object, so that CheckTenant's indexes are the file's.
	t := &Tenant{}
	p.clients(f, t, p.list(top, sectionClients))
	p.connections(f, t, p.list(top, sectionConnections))
	p.resourceServers(f, t, p.list(top, sectionResourceServers))
	p.clientGrants(f, t, p.list(top, sectionClientGrants))
	p.emailProvider(f, top[sectionEmailProvider])
	for _, c := range CheckTenant(t) {
		p.errorf(p.items[c.Section][c.Index], "%s", c.Message)
	}

	if len(p.errs) > 0 {
		// In the order of the file, whichever check found them.
		slices.SortStableFunc(p.errs, func(a, b fileError) int {
			if a.section != b.section {
				return a.section - b.section
			}
			return a.index - b.index
		})
		errs := make([]error, len(p.errs))
		for i, e := range p.errs {
			errs[i] = e.err
		}
		return nil, p.warnings, errors.Join(errs...)
	}
	return f, p.warnings, nil
}

// parser collects the errors and warnings of one file.
type parser struct {
	file     string
	baseDir  string
	getenv   func(string) string
	errs     []fileError
	warnings []string
	warned   map[string]bool
	items    map[string][]item // section -> its items, by index
}

// fileError is an error of the file and the place it is about, by which
// the errors are sorted: the section's rank in sections (-1 for the file as
// a whole) and the item's index (-1 for the section as a whole).
type fileError struct {
	section, index int
	err            error
}

// item is one object of the file, named in messages as `clients[0] "My
// App"` (errors) and `clients[My App]` (warnings).
type item struct {
	section string // "" for the file as a whole
	index   int    // -1 for emailProvider, or a section as a whole
	label   string
}

func (p *parser) errorf(it item, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if it.section != "" {
		where := it.section
		if it.index >= 0 {
			where = fmt.Sprintf("%s[%d]", it.section, it.index)
		}
		if it.label != "" {
			where += " " + strconv.Quote(it.label)
		}
		msg = where + ": " + msg
	}
	p.errs = append(p.errs, fileError{
		section: slices.Index(sections, it.section),
		index:   it.index,
		err:     fmt.Errorf("%s: %s", p.file, msg),
	})
}

func (p *parser) warn(msg string) {
	if !p.warned[msg] {
		p.warned[msg] = true
		p.warnings = append(p.warnings, msg)
	}
}

// report passes on what ck found in the item, with the item's place in front.
func (p *parser) report(it item, ck *checker) {
	for _, e := range ck.errs {
		p.errorf(it, "%s", e)
	}
	where := it.section
	switch {
	case it.label != "":
		where = fmt.Sprintf("%s[%s]", it.section, it.label)
	case it.index >= 0:
		where = fmt.Sprintf("%s[%d]", it.section, it.index)
	}
	for _, w := range ck.warnings {
		p.warn(where + ": " + w)
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
		p.errorf(item{section: section, index: -1}, "want a list, got %s", typeName(v))
		return nil
	}
}

// object starts on item index of section: it returns the item, a checker
// for it and v as an object, or nil (with the error reported) when v is not
// one. label names the object in messages.
func (p *parser) object(section string, index int, v any, label func(map[string]any) string) (item, *checker, map[string]any) {
	it := item{section: section, index: index}
	m, ok := v.(map[string]any)
	if ok {
		it.label = label(m)
	}
	if index >= 0 {
		p.items[section] = append(p.items[section], it)
	}
	if !ok {
		p.errorf(it, "want an object, got %s", typeName(v))
		return it, nil, nil
	}
	return it, &checker{describe: describePlaceholder}, m
}

// describePlaceholder names a value of the wrong type in the file's
// messages: a string that is a whole ##NAME## placeholder was left as it is
// because the environment does not set NAME, which is what to say.
func describePlaceholder(v any) string {
	if s, ok := v.(string); ok && wholeKeyword.MatchString(s) {
		return fmt.Sprintf("placeholder %s, which is not set", s)
	}
	return typeName(v)
}

// stringField is the label of most objects: one of their fields, when it
// is a string.
func stringField(key string) func(map[string]any) string {
	return func(m map[string]any) string {
		s, _ := m[key].(string)
		return s
	}
}

func (p *parser) clients(f *File, t *Tenant, list []any) {
	for i, v := range list {
		it, ck, m := p.object(sectionClients, i, v, stringField("name"))
		c := &Client{}
		if m != nil {
			v := checkClient(ck, m)
			if v.Value != nil {
				c = v.Value
			}
			f.clients = append(f.clients, fileClient{doc: v.Doc, secretHash: c.SecretHash})
			p.report(it, ck)
		}
		t.Clients = append(t.Clients, c)
	}
}

func (p *parser) connections(f *File, t *Tenant, list []any) {
	for i, v := range list {
		it, ck, m := p.object(sectionConnections, i, v, stringField("name"))
		c := &Connection{}
		if m != nil {
			if strategy, _ := m["strategy"].(string); strategy == "email" {
				p.loadBody(ck, m)
			}
			v := checkConnection(ck, m)
			if v.Value != nil {
				c = v.Value
			}
			f.connections = append(f.connections, v.Doc)
			p.report(it, ck)
		}
		t.Connections = append(t.Connections, c)
	}
}

// attackProtection refuses the one attack protection setting that would
// change what a passwordless login asks of people: a CAPTCHA. Sesame has
// no bot detection and no CAPTCHA provider, so a tenant that asks for one
// on passwordless logins would silently get none. The rest of the section
// (brute-force protection, breached passwords, suspicious IP throttling)
// is Sesame's own configuration (flags) and stays ignored with the
// section's warning.
func (p *parser) attackProtection(v any) {
	m, _ := v.(map[string]any)
	bd, _ := m["botDetection"].(map[string]any)
	if policy, _ := bd["challenge_passwordless_policy"].(string); policy != "" && policy != "never" {
		p.errorf(item{section: "attackProtection", index: -1},
			"field \"botDetection.challenge_passwordless_policy\": not supported: Sesame has no bot detection and no CAPTCHA provider, so it cannot challenge passwordless logins; only never (Auth0's default) is accepted, got %q", policy)
	}
}

// bodyExtensions mark an email body that names a file.
var bodyExtensions = []string{".html", ".htm", ".liquid", ".txt"}

// loadBody replaces options.email.body of the connection m by the content of
// the file it names, as a0deploy does: `a0deploy export` writes the body to
// connections/<name>.html and puts "./<name>.html" in the YAML. The file is
// looked up in <dir>/connections first, then in <dir>. It runs before the
// connection is checked, so that the body checked is the one stored.
func (p *parser) loadBody(ck *checker, m map[string]any) {
	opts, _ := m["options"].(map[string]any)
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
			ck.errorf("field \"options.email.body\": %v", err)
			return
		}
		email["body"] = replaceKeywords(string(data), p.getenv, p.warn)
		return
	}
	if named {
		ck.errorf("field \"options.email.body\": file %q not found in %s or %s", ref,
			filepath.Join(dir, "connections"), dir)
	}
}

func (p *parser) resourceServers(f *File, t *Tenant, list []any) {
	for i, v := range list {
		it, ck, m := p.object(sectionResourceServers, i, v, stringField("identifier"))
		rs := &ResourceServer{}
		if m != nil {
			v := checkResourceServer(ck, m)
			if v.Value != nil {
				rs = v.Value
			}
			f.resourceServers = append(f.resourceServers, v.Doc)
			p.report(it, ck)
		}
		t.ResourceServers = append(t.ResourceServers, rs)
	}
}

func (p *parser) clientGrants(f *File, t *Tenant, list []any) {
	// A grant is named by its client and audience.
	label := func(m map[string]any) string {
		client, ok1 := m["client_id"].(string)
		aud, ok2 := m["audience"].(string)
		if ok1 && ok2 {
			return client + " " + aud
		}
		return ""
	}
	for i, v := range list {
		it, ck, m := p.object(sectionClientGrants, i, v, label)
		g := &ClientGrant{}
		if m != nil {
			v := checkClientGrant(ck, m)
			if v.Value != nil {
				g = v.Value
			}
			f.clientGrants = append(f.clientGrants, v.Doc)
			p.report(it, ck)
		}
		t.ClientGrants = append(t.ClientGrants, g)
	}
}

func (p *parser) emailProvider(f *File, v any) {
	if isZero(v) {
		return // a0deploy exports {} when there is no provider
	}
	it, ck, m := p.object(sectionEmailProvider, -1, v, func(map[string]any) string { return "" })
	if m == nil {
		return
	}
	f.emailProvider = checkEmailProvider(ck, m).Doc
	p.report(it, ck)
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

// sections are the sections Sesame reads, in the order they are checked and
// their errors reported.
var sections = []string{sectionClients, sectionConnections, sectionResourceServers, sectionClientGrants, sectionEmailProvider}

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

// FileCounts is how many objects of each kind a tenant file holds.
type FileCounts struct {
	Clients, Connections, ResourceServers, ClientGrants int
}

// Counts is how many objects of each kind f holds.
func (f *File) Counts() FileCounts {
	return FileCounts{len(f.clients), len(f.connections), len(f.resourceServers), len(f.clientGrants)}
}
