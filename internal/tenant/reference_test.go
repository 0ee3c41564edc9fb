package tenant

import (
	"strings"
	"testing"
)

// TestFieldMeanings_NameFieldsThatExist fails when a meaning names a field
// the tables do not have (a rename that left the reference behind), or a
// field Sesame does not act on.
func TestFieldMeanings_NameFieldsThatExist(t *testing.T) {
	tables := map[string]fields{
		"clients": clientFields, "connections": passwordlessConnectionFields, "email": emailOptionFields,
		"sms": smsOptionFields, "resourceServers": resourceServerFields, "clientGrants": clientGrantFields,
		"emailProvider": emailProviderFields,
	}
	for table, meanings := range fieldMeanings {
		fs, ok := tables[table]
		if !ok {
			t.Errorf("meanings for an unknown table %q", table)
			continue
		}
		for path := range meanings {
			f, ok := lookupField(fs, path)
			if !ok {
				t.Errorf("%s: a meaning for %q, which is no field", table, path)
			} else if f.support != used {
				t.Errorf("%s: a meaning for %q, which Sesame does not act on", table, path)
			}
		}
	}
	ref := FieldReference()
	if !strings.Contains(ref, "| `totp.length` | integer | used | digits of a code, 4–10; default 6 |") {
		t.Error("the reference does not carry the meanings")
	}
	// Every field Sesame acts on says what it does.
	for _, line := range strings.Split(ref, "\n") {
		if strings.HasSuffix(line, "| used |  |") {
			t.Errorf("a used field without its meaning in fieldMeanings: %s", line)
		}
	}
}

// lookupField finds a field by its reference path (a.b, a[].b).
func lookupField(fs fields, path string) (field, bool) {
	parts := strings.Split(strings.ReplaceAll(path, "[]", ""), ".")
	var f field
	for i, p := range parts {
		var ok bool
		if f, ok = fs[p]; !ok {
			return field{}, false
		}
		if i < len(parts)-1 {
			fs = f.fields
		}
	}
	return f, true
}
