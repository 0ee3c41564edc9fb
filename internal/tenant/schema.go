package tenant

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// This file is the schema walker: it checks a decoded JSON or YAML document
// against a table of fields (fields.go), reporting unknown fields, values of
// the wrong type and fields Sesame does not act on, and returns the document
// to store. It knows nothing of Auth0's rules (validate.go) or of the tenant
// file (file.go).

// kind is the JSON type a field must have.
type kind uint8

const (
	kString      kind = iota + 1
	kBool             // true or false
	kInt              // an integer
	kIntOrString      // an integer, or a string holding one: a0deploy exports write smtp_port: '##SMTP_PORT##'
	kStrings          // an array of strings
	kStringMap        // an object whose values are strings
	kObject           // an object checked against fields
	kObjects          // an array of objects checked against fields
	kFree             // any object; its keys are not checked
	kAny              // any value, not checked
)

type support uint8

const (
	used support = iota
	ignored
	readOnly
	// unsupported is an option Sesame does not implement and refuses,
	// unless it asks for nothing (see harmless): exports carry Auth0's
	// defaults, which ask for nothing Sesame does not do.
	unsupported
)

type field struct {
	kind    kind
	support support
	fields  fields // kObject, kObjects
	// harmless is the value an unsupported field may hold (Auth0's
	// default); nil: its zero value.
	harmless any
	// why says why an unsupported field is refused, after its name.
	why string
}

type fields map[string]field

func str(s support) field               { return field{kind: kString, support: s} }
func boolean(s support) field           { return field{kind: kBool, support: s} }
func integer(s support) field           { return field{kind: kInt, support: s} }
func intOrString(s support) field       { return field{kind: kIntOrString, support: s} }
func strs(s support) field              { return field{kind: kStrings, support: s} }
func strMap(s support) field            { return field{kind: kStringMap, support: s} }
func object(s support, f fields) field  { return field{kind: kObject, support: s, fields: f} }
func objects(s support, f fields) field { return field{kind: kObjects, support: s, fields: f} }
func free(s support) field              { return field{kind: kFree, support: s} }
func anyValue(s support) field          { return field{kind: kAny, support: s} }
func enabledFlag(s support) field       { return object(s, fields{"enabled": boolean(used)}) }
func credentialList(s support) field    { return objects(s, credentialFields) }
func activeFlag(s support) field        { return object(s, fields{"active": boolean(used)}) }

// refused is a field Sesame does not implement: a value other than its zero
// value is an error that says why, or with harmless (Auth0's default, as
// decoded: a string, a map[string]any…), a value other than harmless or
// none.
func refused(f field, harmless any, why string) field {
	f.support, f.harmless, f.why = unsupported, harmless, why
	return f
}

// checker collects what is wrong with one object (errors) and what it asks
// for that Sesame does not do (warnings). Messages name fields by their path
// inside the object ("options.totp.length") and never quote a value of the
// wrong type, which may be a secret; whoever reports them says which object
// they are about (the tenant file adds its section and index).
type checker struct {
	errs     []string
	warnings []string
	// describe names a value of the wrong type in messages; nil names its
	// JSON type ("a string"). The tenant file also names a placeholder that
	// the environment left unset.
	describe func(v any) string
}

func (c *checker) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *checker) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !slices.Contains(c.warnings, msg) {
		c.warnings = append(c.warnings, msg)
	}
}

// err is every error found, or nil.
func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return &ValidationError{Problems: slices.Clone(c.errs)}
}

// check validates m against fs and returns the document to store: null
// values and read-only fields are dropped, integers given as strings become
// numbers. Fields with errors are left out. warn is false inside a field
// that is itself ignored, so that it is reported once.
func (c *checker) check(prefix string, fs fields, m map[string]any, warn bool) map[string]any {
	out := make(map[string]any, len(m))
	for _, k := range sortedKeys(m) {
		v := m[k]
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		f, ok := fs[k]
		if !ok {
			c.errorf("unknown field %q", path)
			continue
		}
		if v == nil {
			continue
		}
		if f.support == readOnly {
			if warn {
				c.warnf("field %q is read-only; ignored", path)
			}
			continue
		}
		nv, ok := c.value(path, f, v, warn && f.support == used)
		if !ok {
			continue
		}
		if warn && f.support == ignored && !isZero(nv) {
			c.warnf("field %q is not implemented yet; ignored", path)
		}
		if f.support == unsupported && !harmless(f, nv) {
			c.errorf("field %q: not supported: %s", path, f.why)
			continue
		}
		out[k] = nv
	}
	return out
}

func (c *checker) value(path string, f field, v any, warn bool) (any, bool) {
	bad := func(want string) (any, bool) {
		got := typeName(v)
		if c.describe != nil {
			got = c.describe(v)
		}
		c.errorf("field %q: want %s, got %s", path, want, got)
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
				c.errorf("field %q: want a string, got %s", fmt.Sprintf("%s[%d]", path, i), typeName(e))
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
				c.errorf("field %q: want a string, got %s", path+"."+k, typeName(e))
				return nil, false
			}
		}
		return out, true
	case kObject:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("an object")
		}
		return c.check(path, f.fields, m, warn), true
	case kObjects:
		list, ok := v.([]any)
		if !ok {
			return bad("a list of objects")
		}
		out := make([]any, 0, len(list))
		for i, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				c.errorf("field %q: want an object, got %s", fmt.Sprintf("%s[%d]", path, i), typeName(e))
				return nil, false
			}
			out = append(out, c.check(fmt.Sprintf("%s[%d]", path, i), f.fields, m, warn))
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

// harmless reports whether v, the value of an unsupported field, asks for
// nothing Sesame does not do: the field's harmless value (Auth0's default)
// or no value at all, or without a harmless value, its zero value.
func harmless(f field, v any) bool {
	if f.harmless == nil {
		return isZero(v)
	}
	switch x := v.(type) {
	case string:
		if x == "" {
			return true
		}
	case []any:
		if len(x) == 0 {
			return true
		}
	case map[string]any:
		if len(x) == 0 {
			return true
		}
	}
	return reflect.DeepEqual(v, f.harmless)
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
