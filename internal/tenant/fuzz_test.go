package tenant

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// FuzzParseFile checks that no input makes ParseFile panic, that every
// object of a file it accepts validates again as it is stored (what a
// Management API PATCH is merged onto), and that the file imports, twice, to
// the same state.
func FuzzParseFile(f *testing.F) {
	for _, path := range []string{"testdata/export/tenant.yaml", "testdata/tenant.json"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(path, data)
	}
	f.Add("t.yaml", []byte(devTenant))
	f.Add("t.yaml", []byte("a: &a [*a]\n"))
	f.Add("t.yaml", []byte("clients:\n  - &c {name: A}\n  - <<: *c\n    name: B\n"))
	f.Add("t.yml", []byte("clients: [{name: '##X##', callbacks: @@Y@@}]"))
	f.Add("t.json", []byte(`{"clients":[{"name":"A","grant_types":"@@Y@@"}],"connections":[{"name":"e","strategy":"email","enabled_clients":["A"],"options":{"totp":{"length":1e3}}}]}`))
	getenv := env(map[string]string{"X": "x", "Y": `["implicit"]`})

	f.Fuzz(func(t *testing.T, name string, data []byte) {
		file, _, err := ParseFile(name, data, "testdata/export", getenv)
		if err != nil {
			return
		}
		if c := CheckTenant(file.Tenant()); len(c) != 0 {
			t.Fatalf("an accepted file has conflicts: %v", c)
		}
		revalidate(t, file)
		st := &fakeStore{}
		ctx := context.Background()
		if _, err := Import(ctx, st, file, t0); err != nil {
			t.Fatalf("a valid file does not import: %v", err)
		}
		before := cloneState(st.state)
		if creds, err := Import(ctx, st, file, t1); err != nil || len(creds) != 0 {
			t.Fatalf("second import: %v %v", creds, err)
		}
		if !reflect.DeepEqual(before, st.state) {
			t.Fatal("second import changed the store")
		}
		if _, err := FromStore(ctx, st); err != nil {
			t.Fatalf("FromStore: %v", err)
		}
	})
}

// revalidate checks that every object of an accepted file passes its
// validation again, as stored.
func revalidate(t *testing.T, file *File) {
	t.Helper()
	for _, fc := range file.clients {
		if _, _, err := ValidateClient(roundTrip(t, fc.doc)); err != nil {
			t.Fatalf("stored client: %v", err)
		}
	}
	for _, doc := range file.connections {
		if _, _, err := ValidateConnection(roundTrip(t, doc)); err != nil {
			t.Fatalf("stored connection: %v", err)
		}
	}
	for _, doc := range file.resourceServers {
		if _, _, err := ValidateResourceServer(roundTrip(t, doc)); err != nil {
			t.Fatalf("stored resource server: %v", err)
		}
	}
	for _, doc := range file.clientGrants {
		if _, _, err := ValidateClientGrant(roundTrip(t, doc)); err != nil {
			t.Fatalf("stored client grant: %v", err)
		}
	}
	if file.emailProvider != nil {
		if _, _, err := ValidateEmailProvider(roundTrip(t, file.emailProvider)); err != nil {
			t.Fatalf("stored email provider: %v", err)
		}
	}
}

// roundTrip is doc as read back from the store.
func roundTrip(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(mustJSON(doc)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}
