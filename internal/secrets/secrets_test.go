package secrets

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)

func TestGenerateRotateRoundTrip(t *testing.T) {
	s, err := Generate(now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Current() != "2026-12" {
		t.Fatalf("current = %q", s.Current())
	}
	r, err := s.Rotate(now)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.IDs(), ","); got != "2026-12.2,2026-12" {
		t.Fatalf("ids after rotation = %s", got)
	}
	back, err := Parse(r.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(back.IDs(), ","); got != "2026-12.2,2026-12" {
		t.Fatalf("ids after round trip = %s", got)
	}
	a, _ := r.Derive(PurposeCodeHMAC)
	b, _ := back.Derive(PurposeCodeHMAC)
	for i := range a {
		if a[i].ID != b[i].ID || !bytes.Equal(a[i].Key, b[i].Key) {
			t.Fatalf("derived key %d differs after a round trip", i)
		}
	}
	// The old key derives what it derived before rotation.
	old, _ := s.Derive(PurposeCodeHMAC)
	if !bytes.Equal(old[0].Key, a[1].Key) {
		t.Fatal("rotation changed the old key's derived key")
	}
}

func TestPurposesAreSeparate(t *testing.T) {
	s, _ := Generate(now, nil)
	h, _ := s.Derive(PurposeCodeHMAC)
	o, _ := s.Derive(PurposeOutboxSeal)
	if bytes.Equal(h[0].Key, o[0].Key) || bytes.Equal(h[0].Key, s.keys[0].Secret) {
		t.Fatal("derived keys are not distinct")
	}
	if len(h[0].Key) != 32 {
		t.Fatalf("derived key is %d bytes", len(h[0].Key))
	}
}

func TestParseRejects(t *testing.T) {
	good := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	for name, in := range map[string]string{
		"empty":     `{"keys":[]}`,
		"bad json":  `{"keys":`,
		"unknown":   `{"keys":[{"id":"a","secret":"` + good + `"}],"x":1}`,
		"short":     `{"keys":[{"id":"a","secret":"AAAA"}]}`,
		"not b64":   `{"keys":[{"id":"a","secret":"!!!!"}]}`,
		"bad id":    `{"keys":[{"id":"a b","secret":"` + good + `"}]}`,
		"legacy id": `{"keys":[{"id":"db","secret":"` + good + `"}]}`,
		"dup":       `{"keys":[{"id":"a","secret":"` + good + `"},{"id":"a","secret":"` + good + `"}]}`,
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), good) {
			t.Errorf("%s: error quotes the secret", name)
		}
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "secrets.json")
	s, _ := Generate(now, nil)
	if err := s.CreateFile(p); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o", fi.Mode().Perm())
	}
	if err := s.CreateFile(p); !IsExist(err) {
		t.Fatalf("second CreateFile: %v", err)
	}
	r, _ := s.Rotate(now)
	if err := r.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	back, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.IDs()) != 2 {
		t.Fatalf("ids %v", back.IDs())
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode after rotation %o", fi.Mode().Perm())
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil {
		t.Fatal("a world-readable key file was accepted")
	}
}
