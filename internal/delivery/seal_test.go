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
