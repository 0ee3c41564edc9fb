package delivery

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func testSealer(t testing.TB) *Sealer {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealer_RoundTripHidesTheCode(t *testing.T) {
	s := testSealer(t)
	e := Email{From: "<a@x.test>", To: "b@x.test", Subject: "Welcome", HTML: "<b>483920</b>", Text: "483920"}
	b, err := s.Seal(e)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("483920")) || bytes.Contains(b, []byte("b@x.test")) {
		t.Fatal("sealed payload shows its content")
	}
	b2, _ := s.Seal(e)
	if bytes.Equal(b, b2) {
		t.Fatal("two seals of one email are equal: nonce reused")
	}
	got, err := s.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != e {
		t.Fatalf("got %+v, want %+v", got, e)
	}
}

func TestSealer_RejectsTamperedAndForeignPayloads(t *testing.T) {
	s := testSealer(t)
	b, err := s.Seal(Email{To: "b@x.test", Text: "483920"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 0x01
		if _, err := s.Open(bad); !errors.Is(err, ErrUnsealable) {
			t.Fatalf("flipping byte %d: err %v", i, err)
		}
	}
	for _, bad := range [][]byte{nil, {}, b[:1], b[:len(b)-1]} {
		if _, err := s.Open(bad); !errors.Is(err, ErrUnsealable) {
			t.Fatalf("truncated payload (%d bytes): err %v", len(bad), err)
		}
	}
	if _, err := testSealer(t).Open(b); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("other key: err %v", err)
	}
}

func TestNewSealer_NeedsA32ByteKey(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("key of %d bytes accepted", n)
		}
	}
}

func randKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func TestKeyedSealer_RotationAndLegacy(t *testing.T) {
	legacy, k1, k2 := randKey(), randKey(), randKey()
	e := Email{To: "b@x.test", Text: "483920"}

	old, err := NewSealer(legacy)
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := old.Seal(e)

	s1, err := NewKeyedSealer([]SealKey{{ID: "k1", Key: k1}}, legacy)
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := s1.Seal(e)
	if KeyID(p1) != "k1" || KeyID(v1) != LegacyKeyID {
		t.Fatalf("key ids %q %q", KeyID(p1), KeyID(v1))
	}
	s2, err := NewKeyedSealer([]SealKey{{ID: "k2", Key: k2}, {ID: "k1", Key: k1}}, legacy)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := s2.Seal(e)
	if KeyID(p2) != "k2" {
		t.Fatalf("new payload under %q, want k2", KeyID(p2))
	}
	for name, p := range map[string][]byte{"legacy": v1, "k1": p1, "k2": p2} {
		got, err := s2.Open(p)
		if err != nil || got != e {
			t.Fatalf("%s payload after rotation: %+v, %v", name, got, err)
		}
	}
	// Without the legacy key, format 1 is unreadable; without k1, so is p1;
	// a key under another id does not open a payload.
	s3, _ := NewKeyedSealer([]SealKey{{ID: "k2", Key: k2}}, nil)
	if _, err := s3.Open(v1); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("legacy payload without the legacy key: %v", err)
	}
	if _, err := s3.Open(p1); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("k1 payload without k1: %v", err)
	}
	s4, _ := NewKeyedSealer([]SealKey{{ID: "k1", Key: k2}}, nil)
	if _, err := s4.Open(p1); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("k1 payload under a wrong key named k1: %v", err)
	}
	// Every bit of a format 2 payload, header included, is authenticated.
	for i := range p2 {
		bad := bytes.Clone(p2)
		bad[i] ^= 0x01
		if _, err := s2.Open(bad); !errors.Is(err, ErrUnsealable) {
			t.Fatalf("flipping byte %d: err %v", i, err)
		}
	}
	for i := 0; i < len(p2); i++ {
		if _, err := s2.Open(p2[:i]); !errors.Is(err, ErrUnsealable) {
			t.Fatalf("truncated to %d: err %v", i, err)
		}
	}
}

func TestKeyedSealer_RejectsBadKeys(t *testing.T) {
	k := randKey()
	for name, keys := range map[string][]SealKey{
		"none":  nil,
		"no id": {{ID: "", Key: k}},
		"dup":   {{ID: "a", Key: k}, {ID: "a", Key: k}},
		"short": {{ID: "a", Key: k[:16]}},
	} {
		if _, err := NewKeyedSealer(keys, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
