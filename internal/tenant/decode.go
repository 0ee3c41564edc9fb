package tenant

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Keyword replacement as a0deploy does it (src/tools/utils.ts), with the
// environment as the mappings: ##NAME## is replaced by the value as is,
// @@NAME@@ (with the quotes around it, if any) by the value as JSON. A value
// that is itself JSON (an array, say) is inserted as that JSON; any other
// value as a JSON string. An empty variable counts as unset.
var (
	stringKeyword = regexp.MustCompile(`##([A-Za-z_][A-Za-z0-9_]*)##`)
	arrayKeyword  = regexp.MustCompile(`'@@([A-Za-z_][A-Za-z0-9_]*)@@'|"@@([A-Za-z_][A-Za-z0-9_]*)@@"|@@([A-Za-z_][A-Za-z0-9_]*)@@`)
	// wholeKeyword is a string value that is only a placeholder.
	wholeKeyword = regexp.MustCompile(`^##[A-Za-z_][A-Za-z0-9_]*##$`)
)

// replaceKeywords replaces the placeholders of text. An unset ##NAME##
// is left as it is and reported once through warn; an unset @@NAME@@ is left
// silently, because SMS templates contain @@password@@ for the code.
func replaceKeywords(text string, getenv func(string) string, warn func(string)) string {
	text = arrayKeyword.ReplaceAllStringFunc(text, func(m string) string {
		name := strings.Trim(m, `'"@`)
		v := getenv(name)
		if v == "" {
			return m
		}
		var buf bytes.Buffer
		if json.Valid([]byte(v)) && json.Compact(&buf, []byte(v)) == nil {
			return buf.String()
		}
		b, _ := json.Marshal(v)
		return string(b)
	})
	return stringKeyword.ReplaceAllStringFunc(text, func(m string) string {
		name := strings.Trim(m, "#")
		v := getenv(name)
		if v == "" {
			warn(fmt.Sprintf("placeholder ##%s## is not set in the environment; left as is", name))
			return m
		}
		return v
	})
}

// decodeDocument parses a tenant file into plain values: map[string]any,
// []any, string, bool, json.Number and nil. isJSON picks the syntax.
func decodeDocument(text string, isJSON bool) (any, error) {
	if isJSON {
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			if err == io.EOF {
				return nil, nil
			}
			return nil, fmt.Errorf("json: %w", err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, errors.New("json: unexpected data after the top-level value")
		}
		return v, nil
	}
	dec := yaml.NewDecoder(strings.NewReader(text))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		return nil, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		if err != nil {
			return nil, err
		}
		return nil, errors.New("yaml: more than one document")
	}
	b := yamlBuilder{budget: maxYAMLNodes}
	return b.value(&doc, 0)
}

// Limits that keep a hostile file (alias bombs, deep nesting) from
// exhausting memory or the stack.
const (
	maxYAMLNodes = 1 << 20
	maxYAMLDepth = 200
)

// yamlBuilder turns a yaml.Node tree into plain values, with YAML 1.2 core
// schema scalars (as js-yaml, which a0deploy uses, reads them), aliases and
// merge keys.
type yamlBuilder struct {
	budget int
}

func (b *yamlBuilder) value(n *yaml.Node, depth int) (any, error) {
	b.budget--
	if b.budget < 0 {
		return nil, errors.New("yaml: document too large (too many nodes or aliases)")
	}
	if depth > maxYAMLDepth {
		return nil, fmt.Errorf("yaml: line %d: nested too deeply", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return b.value(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("yaml: line %d: unknown alias", n.Line)
		}
		return b.value(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := b.value(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return b.mapping(n, depth)
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil, fmt.Errorf("yaml: line %d: unexpected node", n.Line)
}

func (b *yamlBuilder) mapping(n *yaml.Node, depth int) (map[string]any, error) {
	out := make(map[string]any, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("yaml: line %d: a key must be a plain value", k.Line)
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("yaml: line %d: duplicate key %q", k.Line, k.Value)
		}
		val, err := b.value(v, depth+1)
		if err != nil {
			return nil, err
		}
		out[k.Value] = val
	}
	// Merged keys never override keys written in the mapping itself.
	for _, m := range merges {
		v, err := b.value(m, depth+1)
		if err != nil {
			return nil, err
		}
		var srcs []any
		if list, ok := v.([]any); ok {
			srcs = list
		} else {
			srcs = []any{v}
		}
		for _, s := range srcs {
			sm, ok := s.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("yaml: line %d: << must merge a mapping", m.Line)
			}
			for k, v := range sm {
				if _, ok := out[k]; !ok {
					out[k] = v
				}
			}
		}
	}
	return out, nil
}

func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("yaml: line %d: invalid boolean", n.Line)
		}
		return v, nil
	case "!!int":
		var v int64
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("yaml: line %d: invalid or too large integer", n.Line)
		}
		return json.Number(strconv.FormatInt(v, 10)), nil
	case "!!float":
		var v float64
		if err := n.Decode(&v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("yaml: line %d: invalid number", n.Line)
		}
		return json.Number(strconv.FormatFloat(v, 'g', -1, 64)), nil
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	}
	return nil, fmt.Errorf("yaml: line %d: unsupported tag %s", n.Line, n.Tag)
}
