package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// mac stands in for the HMAC the passwordless package computes.
func mac(value string) []byte {
	h := sha256.Sum256([]byte("code:" + value))
	return h[:]
}

const codeLifetime = 5 * time.Minute

// newCode returns a live code for (connection, identifier) with value,
// issued at issued.
func newCode(id, connection, identifier, value string, issued time.Time) store.Code {
	return store.Code{
		ID:         id,
		Connection: connection,
		Identifier: identifier,
		CodeHMAC:   mac(value),
		KeyID:      "k1",
		ClientID:   "cli-a",
		Send:       "code",
		AuthParams: []byte(`{"scope":"openid"}`),
		CreatedAt:  issued,
		ExpiresAt:  issued.Add(codeLifetime),
		MaxTries:   3,
	}
}

func createCode(t *testing.T, st store.Store, c store.Code, msg *store.OutboxMessage) {
	t.Helper()
	if _, err := st.CreateCode(ctx(t), c, msg, nil); err != nil {
		t.Fatalf("CreateCode(%s): %v", c.ID, err)
	}
}

// verify calls GuessCode without protection, consuming a right value, and
// checks the error.
func verify(t *testing.T, st store.Store, connection, identifier, value string, now time.Time, want error) store.Code {
	t.Helper()
	res, err := st.GuessCode(ctx(t), connection, identifier, [][]byte{mac(value)}, now, true, store.Guard{})
	if !errors.Is(err, want) {
		t.Fatalf("GuessCode(%s, %s, %q) = %v, want %v", connection, identifier, value, err, want)
	}
	return res.Code
}

// check is verify without consuming a right value.
func check(t *testing.T, st store.Store, connection, identifier, value string, now time.Time, want error) store.Code {
	t.Helper()
	res, err := st.GuessCode(ctx(t), connection, identifier, [][]byte{mac(value)}, now, false, store.Guard{})
	if !errors.Is(err, want) {
		t.Fatalf("GuessCode(%s, %s, %q, check) = %v, want %v", connection, identifier, value, err, want)
	}
	return res.Code
}

func checkAttempts(t *testing.T, got store.Code, want int) {
	t.Helper()
	if got.Attempts != want {
		t.Errorf("the verified code has Attempts = %d, want %d", got.Attempts, want)
	}
}

// macUnder stands in for the HMAC of value under the key named key.
func macUnder(key, value string) []byte {
	h := sha256.Sum256([]byte("code:" + key + ":" + value))
	return h[:]
}

var codeTests = []test{
	{"KeyIDIsKeptAndDefaultsToLegacy", func(t *testing.T, s *suite) {
		st := s.open(t)
		createCode(t, st, newCode("c1", "email", "a@example.com", "123456", t0), nil)
		if got := check(t, st, "email", "a@example.com", "123456", t0, nil); got.KeyID != "k1" {
			t.Errorf("KeyID = %q, want k1", got.KeyID)
		}
		c := newCode("c2", "email", "b@example.com", "123456", t0)
		c.KeyID = ""
		createCode(t, st, c, nil)
		if got := check(t, st, "email", "b@example.com", "123456", t0, nil); got.KeyID != store.LegacyKeyID {
			t.Errorf("KeyID of a code made without one = %q, want %q", got.KeyID, store.LegacyKeyID)
		}
	}},
	{"CodeUnderAnOldKeyIsAcceptedAfterRotation", func(t *testing.T, s *suite) {
		st := s.open(t)
		c := newCode("c1", "email", "a@example.com", "123456", t0)
		c.CodeHMAC, c.KeyID = macUnder("old", "123456"), "old"
		createCode(t, st, c, nil)
		// After a rotation the server sends the HMAC under the new key
		// first, then under the old one.
		macs := [][]byte{macUnder("new", "123456"), macUnder("old", "123456"), macUnder("db", "123456")}
		res, err := st.GuessCode(ctx(t), "email", "a@example.com", macs, t0, true, store.Guard{})
		if err != nil || res.Code.ID != "c1" || res.Code.KeyID != "old" {
			t.Fatalf("GuessCode(new, old, db) = %+v, %v; want c1 under old", res.Code, err)
		}
		// Used: the same candidates are stale, whichever key matches.
		if _, err := st.GuessCode(ctx(t), "email", "a@example.com", macs, t0, true, store.Guard{}); !errors.Is(err, store.ErrCodeStale) {
			t.Fatalf("the used code again = %v, want ErrCodeStale", err)
		}
		// A code the old key does not know is not accepted.
		c2 := newCode("c2", "email", "b@example.com", "123456", t0)
		c2.CodeHMAC = macUnder("gone", "123456")
		createCode(t, st, c2, nil)
		if _, err := st.GuessCode(ctx(t), "email", "b@example.com", macs, t0, false, store.Guard{}); !errors.Is(err, store.ErrCodeWrong) {
			t.Fatalf("a code under a key no longer held = %v, want ErrCodeWrong", err)
		}
	}},
	{"WrongValueUnderSeveralKeysUsesOneTry", func(t *testing.T, s *suite) {
		st := s.open(t)
		c := newCode("c1", "email", "a@example.com", "123456", t0)
		c.CodeHMAC = macUnder("new", "123456")
		createCode(t, st, c, nil)
		wrong := [][]byte{macUnder("new", "000000"), macUnder("old", "000000"), macUnder("db", "000000")}
		if _, err := st.GuessCode(ctx(t), "email", "a@example.com", wrong, t0, true, store.Guard{}); !errors.Is(err, store.ErrCodeWrong) {
			t.Fatalf("wrong value under three keys = %v, want ErrCodeWrong", err)
		}
		right := [][]byte{macUnder("new", "123456"), macUnder("old", "123456"), macUnder("db", "123456")}
		res, err := st.GuessCode(ctx(t), "email", "a@example.com", right, t0, true, store.Guard{})
		if err != nil {
			t.Fatal(err)
		}
		checkAttempts(t, res.Code, 1)
	}},
	{"RightValueIsReturnedAndConsumed", func(t *testing.T, s *suite) {
		st := s.open(t)
		c := newCode("c1", "email", "a@example.com", "123456", t0)
		createCode(t, st, c, nil)
		got := verify(t, st, "email", "a@example.com", "123456", t0.Add(time.Minute), nil)
		if !reflect.DeepEqual(got, c) {
			t.Errorf("VerifyCode returned\n%+v\nwant the stored code\n%+v", got, c)
		}
		verify(t, st, "email", "a@example.com", "123456", t0.Add(2*time.Minute), store.ErrCodeStale)
	}},
	{"NilAuthParamsStayNil", func(t *testing.T, s *suite) {
		st := s.open(t)
		c := newCode("c1", "email", "a@example.com", "123456", t0)
		c.AuthParams = nil
		createCode(t, st, c, nil)
		got := verify(t, st, "email", "a@example.com", "123456", t0, nil)
		if got.AuthParams != nil {
			t.Errorf("AuthParams = %q, want nil", got.AuthParams)
		}
	}},
	{"NoCodeIsNotFound", func(t *testing.T, s *suite) {
		st := s.open(t)
		verify(t, st, "email", "nobody@example.com", "123456", t0, store.ErrCodeNotFound)
		check(t, st, "email", "nobody@example.com", "123456", t0, store.ErrCodeNotFound)
	}},
	{"OtherValueAfterConsumptionIsNotFound", func(t *testing.T, s *suite) {
		st := s.open(t)
		createCode(t, st, newCode("c1", "email", "a@example.com", "123456", t0), nil)
		verify(t, st, "email", "a@example.com", "123456", t0, nil)
		verify(t, st, "email", "a@example.com", "654321", t0, store.ErrCodeNotFound)
	}},
	{"WrongValueUsesOneTry", func(t *testing.T, s *suite) {
		st := s.open(t)
		createCode(t, st, newCode("c1", "email", "a@example.com", "123456", t0), nil)
		verify(t, st, "email", "a@example.com", "000000", t0, store.ErrCodeWrong)
		verify(t, st, "email", "a@example.com", "111111", t0, store.ErrCodeWrong)
		got := verify(t, st, "email", "a@example.com", "123456", t0, nil)
		checkAttempts(t, got, 2)
	}},
	{"NoTriesLeftRefusesEvenTheRightValue", func(t *testing.T, s *suite) {
		st := s.open(t)
		createCode(t, st, newCode("c1", "email", "a@example.com", "123456", t0), nil)
		for i := range 3 {
			verify(t, st, "email", "a@example.com", fmt.Sprintf("00000%d", i), t0, store.ErrCodeWrong)
		}
		verify(t, st, "email", "a@example.com", "999999", t0, store.ErrAttemptsExceeded)
		verify(t, st, "email", "a@example.com", "123456", t0, store.ErrAttemptsExceeded)
		check(t, st, "email", "a@example.com", "123456", t0, store.ErrAttemptsExceeded)
	}},
	{"ExpiredAtExpiresAtAndNotCounted", func(t *testing.T, s *suite) {
		st := s.open(t)
		c := newCode("c1", "email", "a@example.com", "123456", t0)
		createCode(t, st, c, nil)
		// More expired tries than MaxTries: none may count.
		for i := range 5 {
			verify(t, st, "email", "a@example.com", fmt.Sprintf("00000%d", i), c.ExpiresAt, store.ErrCodeExpired)
		}
		verify(t, st, "email", "a@example.com", "123456", c.ExpiresAt, store.ErrCodeExpired)
		verify(t, st, "email", "a@example.com", "123456", c.ExpiresAt.Add(time.Hour), store.ErrCodeExpired)
		check(t, st, "email", "a@example.com", "123456", c.ExpiresAt, store.ErrCodeExpired)
		got := verify(t, st, "email", "a@example.com", "123456", c.ExpiresAt.Add(-time.Millisecond), nil)
		checkAttempts(t, got, 0)
	}},
	{"NewerCodeReplacesOlder", func(t *testing.T, s *suite) {
		st := s.open(t)
		createCode(t, st, newCode("c1", "email", "a@example.com", "111111", t0), nil)
		createCode(t, st, newCode("c2", "email", "a@example.com", "222222", t0.Add(time.Second)), nil)
		// The old value is stale however often it is tried, and costs nothing.
		for range 4 {
			verify(t, st, "email", "a@example.com", "111111", t0.Add(2*time.Second), store.ErrCodeStale)
		}
		check(t, st, "email", "a@example.com", "111111", t0.Add(2*time.Second), store.ErrCodeStale)
		got := verify(t, st, "email", "a@example.com", "222222", t0.Add(2*time.Second), nil)
		if got.ID != "c2" {
			t.Errorf("verified code %s, want the newer c2", got.ID)
		}
		checkAttempts(t, got, 0)
	}},
	{"ReissuedSameValueIsLiveNotStale", func(t *testing.T, s *suite) {
		// Six digits collide: a new code may carry an old code's value.
		st := s.open(t)
		createCode(t, st, newCode("c1", "email", "a@example.com", "123456", t0), nil)
		verify(t, st, "email", "a@example.com", "123456", t0, nil)
		createCode(t, st, newCode("c2", "email", "a@example.com", "123456", t0.Add(time.Minute)), nil)
		got := verify(t, st, "email", "a@example.com", "123456", t0.Add(time.Minute), nil)
		if got.ID != "c2" {
			t.Errorf("verified code %s, want c2", got.ID)
		}
	}},
	{"StaleBeforeExpiredAndExhaustedBeforeStale", func(t *testing.T, s *suite) {
		st := s.open(t)
		createCode(t, st, newCode("c1", "email", "a@example.com", "111111", t0), nil)
		c2 := newCode("c2", "email", "a@example.com", "222222", t0)
		createCode(t, st, c2, nil)
		verify(t, st, "email", "a@example.com", "111111", c2.ExpiresAt.Add(time.Minute), store.ErrCodeStale)
		for i := range 3 {
			verify(t, st, "email", "a@example.com", fmt.Sprintf("00000%d", i), t0, store.ErrCodeWrong)
		}
		verify(t, st, "email", "a@example.com", "111111", t0, store.ErrAttemptsExceeded)
	}},
	{"ConnectionsAndIdentifiersAreIndependent", func(t *testing.T, s *suite) {
		st := s.open(t)
		createCode(t, st, newCode("c1", "email", "a@example.com", "111111", t0), nil)
		createCode(t, st, newCode("c2", "email", "b@example.com", "222222", t0), nil)
		createCode(t, st, newCode("c3", "sms", "a@example.com", "333333", t0), nil)
		// Another identifier's or connection's value is just wrong here.
		verify(t, st, "email", "a@example.com", "222222", t0, store.ErrCodeWrong)
		verify(t, st, "email", "a@example.com", "333333", t0, store.ErrCodeWrong)
		verify(t, st, "email", "b@example.com", "111111", t0, store.ErrCodeWrong)
		verify(t, st, "sms", "b@example.com", "222222", t0, store.ErrCodeNotFound)
		checkAttempts(t, verify(t, st, "email", "a@example.com", "111111", t0, nil), 2)
		checkAttempts(t, verify(t, st, "email", "b@example.com", "222222", t0, nil), 1)
		checkAttempts(t, verify(t, st, "sms", "a@example.com", "333333", t0, nil), 0)
	}},
	{"DuplicateIDFailsAndWritesNothing", func(t *testing.T, s *suite) {
		st := s.open(t)
		createCode(t, st, newCode("c1", "email", "a@example.com", "111111", t0), nil)
		dup := newCode("c1", "email", "a@example.com", "222222", t0)
		msg := newMessage("m1", t0)
		_, err := st.CreateCode(ctx(t), dup, &msg, nil)
		if !errors.Is(err, store.ErrAlreadyExists) {
			t.Fatalf("CreateCode with a used ID = %v, want ErrAlreadyExists", err)
		}
		if _, err := st.OutboxMessage(ctx(t), "m1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the failed CreateCode queued its message (OutboxMessage = %v)", err)
		}
		// The first code was not replaced.
		verify(t, st, "email", "a@example.com", "111111", t0, nil)
	}},
	{"CheckDoesNotConsumeButCountsWrongValues", func(t *testing.T, s *suite) {
		st := s.open(t)
		c := newCode("c1", "email", "a@example.com", "123456", t0)
		createCode(t, st, c, nil)
		got := check(t, st, "email", "a@example.com", "123456", t0, nil)
		if !reflect.DeepEqual(got, c) {
			t.Errorf("CheckCode returned\n%+v\nwant\n%+v", got, c)
		}
		check(t, st, "email", "a@example.com", "123456", t0, nil)
		check(t, st, "email", "a@example.com", "000000", t0, store.ErrCodeWrong)
		checkAttempts(t, check(t, st, "email", "a@example.com", "123456", t0, nil), 1)
		checkAttempts(t, verify(t, st, "email", "a@example.com", "123456", t0, nil), 1)
		check(t, st, "email", "a@example.com", "123456", t0, store.ErrCodeStale)
	}},
	{"ConcurrentRightValuesConsumeOnce", func(t *testing.T, s *suite) {
		st := s.open(t)
		createCode(t, st, newCode("c1", "email", "a@example.com", "123456", t0), nil)
		errs := make([]error, racers)
		parallel(racers, func(i int) {
			_, errs[i] = st.GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac("123456")}, t0, true, store.Guard{})
		})
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrCodeStale):
			default:
				t.Errorf("GuessCode %d = %v, want success or ErrCodeStale", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d concurrent verifications of one code succeeded, want exactly 1", wins)
		}
	}},
	{"ConcurrentWrongValuesNeverExceedMaxTries", func(t *testing.T, s *suite) {
		st := s.open(t)
		createCode(t, st, newCode("c1", "email", "a@example.com", "123456", t0), nil)
		errs := make([]error, racers)
		parallel(racers, func(i int) {
			_, errs[i] = st.GuessCode(ctx(t), "email", "a@example.com", [][]byte{mac(fmt.Sprintf("wrong-%d", i))}, t0, true, store.Guard{})
		})
		wrong := 0
		for i, err := range errs {
			switch {
			case errors.Is(err, store.ErrCodeWrong):
				wrong++
			case errors.Is(err, store.ErrAttemptsExceeded):
			default:
				t.Errorf("GuessCode %d = %v, want ErrCodeWrong or ErrAttemptsExceeded", i, err)
			}
		}
		if wrong != 3 {
			t.Errorf("%d concurrent wrong tries were counted as ErrCodeWrong, want exactly MaxTries (3)", wrong)
		}
		verify(t, st, "email", "a@example.com", "123456", t0, store.ErrAttemptsExceeded)
	}},
}
