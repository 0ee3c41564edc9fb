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
		title string
		fs    fields
	}{
		{"`clients[]` (an application, `/api/v2/clients`)", clientFields},
		{"`connections[]` with `strategy: email` or `sms` (`/api/v2/connections`)", passwordlessConnectionFields},
		{"`connections[].options` of an `email` connection", emailOptionFields},
		{"`connections[].options` of an `sms` connection", smsOptionFields},
		{"`resourceServers[]` (an API, `/api/v2/resource-servers`)", resourceServerFields},
		{"`clientGrants[]` (`/api/v2/client-grants`)", clientGrantFields},
		{"`emailProvider`", emailProviderFields},
	} {
		fmt.Fprintf(&b, "#### %s\n\n| field | type | Sesame |\n|---|---|---|\n", obj.title)
		writeFields(&b, "", obj.fs)
		b.WriteString("\n")
	}
	return b.String()
}

func writeFields(b *strings.Builder, prefix string, fs fields) {
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
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", path, kindName(f.kind), supportText(f))
		if f.kind == kObject || f.kind == kObjects {
			writeFields(b, path+".", f.fields)
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
