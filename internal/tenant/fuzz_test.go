package tenant

import (
	"context"
	"os"
	"reflect"
	"testing"
)

// FuzzParseFile checks that no input makes ParseFile panic, and that any
// file it accepts imports, twice, to the same state.
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
		file.Tenant()
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
