package tenant

import (
	"fmt"
	"sort"
	"strings"
)

// FieldReference is the tenant file's fields as Markdown, generated from
// the tables the file and the Management API are checked against
// (fields.go): for each object, every field's path, its JSON type and what
// Sesame does with it. It is part of docs/CONFIGURATION.md (`sesame config
// docs`), so the document cannot drift from what is accepted.
func FieldReference() string {
	var b strings.Builder
	for _, obj := range []struct {
		title, key string
		fs         fields
	}{
		{"`clients[]` (an application, `/api/v2/clients`)", "clients", clientFields},
		{"`connections[]` with `strategy: email` or `sms` (`/api/v2/connections`)", "connections", passwordlessConnectionFields},
		{"`connections[].options` of an `email` connection", "email", emailOptionFields},
		{"`connections[].options` of an `sms` connection", "sms", smsOptionFields},
		{"`resourceServers[]` (an API, `/api/v2/resource-servers`)", "resourceServers", resourceServerFields},
		{"`clientGrants[]` (`/api/v2/client-grants`)", "clientGrants", clientGrantFields},
		{"`emailProvider`", "emailProvider", emailProviderFields},
	} {
		fmt.Fprintf(&b, "#### %s\n\n| field | type | Sesame | meaning and default |\n|---|---|---|---|\n", obj.title)
		writeFields(&b, "", obj.fs, "", fieldMeanings[obj.key])
		b.WriteString("\n")
	}
	return b.String()
}

// writeFields writes the rows of fs; inherited, when set, is what the
// object holding them is (a field inside an ignored object is ignored with
// it, whatever its own table says).
func writeFields(b *strings.Builder, prefix string, fs fields, inherited string, meanings map[string]string) {
	names := make([]string, 0, len(fs))
	for n := range fs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := fs[n]
		path := prefix + n
		if f.kind == kObjects {
			path += "[]"
		}
		what := inherited
		if what == "" {
			what = supportText(f)
		}
		meaning := ""
		if inherited == "" && f.support == used {
			meaning = strings.ReplaceAll(meanings[path], "|", "\\|")
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", path, kindName(f.kind), what, meaning)
		if f.kind == kObject || f.kind == kObjects {
			sub := inherited
			if sub == "" && f.support != used {
				sub = "inside `" + path + "`: " + supportText(f)
			}
			writeFields(b, path+".", f.fields, sub, meanings)
		}
	}
}

func kindName(k kind) string {
	switch k {
	case kString:
		return "string"
	case kBool:
		return "boolean"
	case kInt:
		return "integer"
	case kIntOrString:
		return "integer (or a string holding one)"
	case kStrings:
		return "array of strings"
	case kStringMap:
		return "object of strings"
	case kObject:
		return "object"
	case kObjects:
		return "array of objects"
	case kFree:
		return "object (not checked)"
	default:
		return "any"
	}
}

func supportText(f field) string {
	switch f.support {
	case used:
		return "used"
	case ignored:
		return "accepted, not acted on (one warning)"
	case readOnly:
		return "read-only: dropped (one warning)"
	default:
		s := "refused"
		if f.harmless != nil {
			s += fmt.Sprintf(" unless `%v`", harmlessText(f.harmless))
		} else {
			s += " unless empty or false"
		}
		if f.why != "" {
			s += ": " + strings.ReplaceAll(f.why, "|", "\\|")
		}
		return s
	}
}

func harmlessText(v any) string {
	return string(mustJSON(v)) // encoding/json sorts map keys
}
