package tenant

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sesame-id/sesame/internal/store"
)

// Export formats.
const (
	FormatYAML = "yaml"
	FormatJSON = "json"
)

// ExportOptions say how Export writes the tenant.
type ExportOptions struct {
	// Format is FormatYAML (the default) or FormatJSON.
	Format string
	// Name is the tenant file's name; default tenant.yaml or tenant.json.
	Name string
	// InlineBodies keeps the email bodies in the tenant file instead of
	// writing them to connections/<name>.html beside it.
	InlineBodies bool
}

// Export writes a stored tenant as `a0deploy export` would, in the layout
// ParseFile reads: one file with the sections clients, connections,
// resourceServers, clientGrants and emailProvider, each object in its
// Management API shape as it was imported (no defaults added), and the body
// of each email connection in connections/<name>.html beside it, named in
// the file as ./<name>.html. It returns the files by their path relative to
// the output directory, the tenant file under opts.Name.
//
// Clients are referred to by name (enabled_clients, clientGrants), as
// a0deploy does; ids (client_id, connection and grant ids) are kept, so
// that importing the export into an empty database gives the same ids. A
// reference to a client the store no longer has is left out, with the
// grants of such a client: a file could not name it.
// Secrets are never written: client secrets are not known (only their
// hash is stored; a client without client_secret keeps its stored one, and
// an import into an empty database makes a new one), and the others are
// replaced by ##NAME## placeholders, which an import fills in from the
// environment: ##SMTP_PASS## (the names a0deploy uses for the email
// provider), ##CONNECTIONS_<NAME>_TWILIO_TOKEN## and
// ##CONNECTIONS_<NAME>_GATEWAY_SECRET## for an sms connection named NAME
// (upper case, other characters as _), ##CONNECTIONS_<NAME>_CLIENT_SECRET##
// for the client secret of a (social) connection Sesame does not implement;
// the other options of such connections are written as stored. A value
// that is already a whole placeholder stays as it is. Lists are sorted (clients and
// connections by name, APIs by identifier, grants by client and audience,
// enabled_clients by name) and keys too, so that the same tenant always
// gives the same bytes.
func Export(state store.TenantState, opts ExportOptions) (map[string][]byte, error) {
	if opts.Format == "" {
		opts.Format = FormatYAML
	}
	if opts.Format != FormatYAML && opts.Format != FormatJSON {
		return nil, fmt.Errorf("export: format %q: want yaml or json", opts.Format)
	}
	if opts.Name == "" {
		opts.Name = "tenant." + opts.Format
	}
	files := map[string][]byte{}
	var doc exportDoc

	names := map[string]string{} // client_id -> name
	for _, r := range state.Clients {
		m, err := decodeStored(r.Data, "client "+r.ClientID)
		if err != nil {
			return nil, err
		}
		m["client_id"], m["name"] = r.ClientID, r.Name
		delete(m, "client_secret") // never stored; never written either
		names[r.ClientID] = r.Name
		doc.Clients = append(doc.Clients, m)
	}
	slices.SortStableFunc(doc.Clients, func(a, b map[string]any) int {
		return cmp.Or(strings.Compare(strOf(a["name"]), strOf(b["name"])), strings.Compare(strOf(a["client_id"]), strOf(b["client_id"])))
	})

	connections := slices.Clone(state.Connections)
	slices.SortStableFunc(connections, func(a, b store.ConnectionRecord) int { return strings.Compare(a.Name, b.Name) })
	bodyFiles := map[string]bool{}
	for _, r := range connections {
		m, err := decodeStored(r.Data, "connection "+r.Name)
		if err != nil {
			return nil, err
		}
		m["id"], m["name"], m["strategy"] = r.ID, r.Name, r.Strategy
		if list, ok := m["enabled_clients"].([]any); ok {
			refs := make([]string, 0, len(list))
			for _, e := range list {
				// A client the store no longer has (deleted through the
				// Management API) enables nothing, and a file cannot name it.
				if n, ok := names[strOf(e)]; ok {
					refs = append(refs, n)
				}
			}
			slices.Sort(refs)
			m["enabled_clients"] = stringsToAny(slices.Compact(refs))
		}
		o, _ := m["options"].(map[string]any)
		if o != nil {
			env := "##CONNECTIONS_" + envName(r.Name)
			mask(o, "twilio_token", env+"_TWILIO_TOKEN##")
			if ga, ok := o["gateway_authentication"].(map[string]any); ok {
				mask(ga, "secret", env+"_GATEWAY_SECRET##")
			}
			// The one secret of the strategies Sesame does not implement
			// (social connections) that it knows of.
			mask(o, "client_secret", env+"_CLIENT_SECRET##")
		}
		if email, ok := o["email"].(map[string]any); ok && r.Strategy == "email" && !opts.InlineBodies {
			if body := strOf(email["body"]); body != "" {
				file := fileName(r.Name)
				for i := 2; bodyFiles[file]; i++ {
					file = fmt.Sprintf("%s-%d", fileName(r.Name), i)
				}
				bodyFiles[file] = true
				files[path.Join("connections", file+".html")] = []byte(body)
				email["body"] = "./" + file + ".html"
			}
		}
		doc.Connections = append(doc.Connections, m)
	}

	for _, r := range state.ResourceServers {
		m, err := decodeStored(r.Data, "resource server "+r.Identifier)
		if err != nil {
			return nil, err
		}
		m["id"], m["identifier"] = r.ID, r.Identifier
		mask(m, "signing_secret", "##RESOURCE_SERVERS_"+envName(r.Identifier)+"_SIGNING_SECRET##")
		doc.ResourceServers = append(doc.ResourceServers, m)
	}
	slices.SortStableFunc(doc.ResourceServers, func(a, b map[string]any) int {
		return strings.Compare(strOf(a["identifier"]), strOf(b["identifier"]))
	})

	for _, r := range state.ClientGrants {
		name, ok := names[r.ClientID]
		if !ok {
			continue // the grant of a client the store no longer has grants nothing
		}
		m, err := decodeStored(r.Data, "client grant "+r.ID)
		if err != nil {
			return nil, err
		}
		m["id"], m["client_id"], m["audience"] = r.ID, name, r.Audience
		doc.ClientGrants = append(doc.ClientGrants, m)
	}
	slices.SortStableFunc(doc.ClientGrants, func(a, b map[string]any) int {
		return cmp.Or(strings.Compare(strOf(a["client_id"]), strOf(b["client_id"])), strings.Compare(strOf(a["audience"]), strOf(b["audience"])))
	})

	if len(state.EmailProvider) > 0 && string(state.EmailProvider) != "null" {
		m, err := decodeStored(state.EmailProvider, "email provider")
		if err != nil {
			return nil, err
		}
		if creds, ok := m["credentials"].(map[string]any); ok {
			for key, placeholder := range emailProviderSecrets(strOf(m["name"])) {
				mask(creds, key, placeholder)
			}
		}
		doc.EmailProvider = m
	}

	var out bytes.Buffer
	switch opts.Format {
	case FormatYAML:
		out.WriteString(exportHeader)
		enc := yaml.NewEncoder(&out)
		enc.SetIndent(2)
		if err := enc.Encode(doc.asMap()); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	case FormatJSON:
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	files[opts.Name] = out.Bytes()
	return files, nil
}

// exportHeader opens a YAML export. It holds no date, so that the same
// tenant gives the same bytes.
const exportHeader = `# Sesame tenant, exported by "sesame tenant export" in the Auth0 Deploy CLI
# layout. Secrets are ##NAME## placeholders, filled in from the environment
# when the file is imported; client secrets are not exported.
`

// exportDoc is the tenant file: its sections in the order a person reads
// them (JSON keeps this order; YAML too, through asMap's yaml.Node).
type exportDoc struct {
	Clients         []map[string]any `json:"clients,omitempty"`
	Connections     []map[string]any `json:"connections,omitempty"`
	ResourceServers []map[string]any `json:"resourceServers,omitempty"`
	ClientGrants    []map[string]any `json:"clientGrants,omitempty"`
	EmailProvider   map[string]any   `json:"emailProvider,omitempty"`
}

// asMap is the document as a YAML mapping node, sections in exportDoc's
// order, empty ones left out.
func (d exportDoc) asMap() *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	add := func(key string, v any, empty bool) {
		if empty {
			return
		}
		var val yaml.Node
		if err := val.Encode(plain(v)); err != nil {
			// Documents hold only values decoded from JSON.
			panic(fmt.Sprintf("tenant: export %s: %v", key, err))
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, &val)
	}
	add(sectionClients, d.Clients, len(d.Clients) == 0)
	add(sectionConnections, d.Connections, len(d.Connections) == 0)
	add(sectionResourceServers, d.ResourceServers, len(d.ResourceServers) == 0)
	add(sectionClientGrants, d.ClientGrants, len(d.ClientGrants) == 0)
	add(sectionEmailProvider, d.EmailProvider, d.EmailProvider == nil)
	return n
}

// emailProviderSecrets are the credentials of an email provider that are
// secret, with the placeholders a0deploy's export writes for them.
func emailProviderSecrets(name string) map[string]string {
	m := map[string]string{
		"smtp_pass":        "##SMTP_PASS##",
		"secretAccessKey":  "##SES_ACCESS_SECRET_KEY##",
		"connectionString": "##AZURE_CS_CONNECTION_KEY##",
		"clientSecret":     "##MS365_CLIENT_SECRET##",
	}
	if name != "" {
		m["api_key"] = "##" + envName(name) + "_API_KEY##"
	} else {
		m["api_key"] = "##EMAIL_PROVIDER_API_KEY##"
	}
	return m
}

// mask replaces the secret m[key] by placeholder. A value that is already
// a whole placeholder (an import left it unset) is no secret and stays.
func mask(m map[string]any, key, placeholder string) {
	if v := strOf(m[key]); v != "" && !wholeKeyword.MatchString(v) {
		m[key] = placeholder
	}
}

// decodeStored reads a stored document, numbers as json.Number.
func decodeStored(data []byte, what string) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("export: decode %s: %w", what, err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// plain turns json.Number into int64 or float64 (YAML would quote it as a
// string), recursively.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return string(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

func strOf(v any) string {
	s, _ := v.(string)
	return s
}

// envName makes a placeholder's name of s: upper case, every character
// other than a letter or digit as _.
func envName(s string) string {
	b := []byte(strings.ToUpper(s))
	for i, c := range b {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// fileName makes a file name of a connection's name, as a0deploy's
// sanitize does: characters that are not safe in a file name become _.
func fileName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0) {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}
