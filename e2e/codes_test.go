package e2e

import (
	"context"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/delivery"
	"github.com/sesame-id/sesame/internal/smtptest"
	"github.com/sesame-id/sesame/internal/store"
)

const (
	descWrong   = "Wrong email or verification code."
	descExpired = "The verification code has expired. Please try to login again."
	descMax     = "You've reached the maximum number of attempts. Please try to login again."
)

func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestCode_IsSingleUse(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.startCode(nativeClientID, "dave@example.com")
	if r := e.otp(nativeClientID, "dave@example.com", code, "openid"); r.Status != 200 {
		t.Fatalf("first use: %d %s", r.Status, r.Body)
	}
	wantError(t, e.otp(nativeClientID, "dave@example.com", code, "openid"), 403, "invalid_grant", descWrong)
}

func TestCode_DiesAfterThreeWrongTries(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.startCode(nativeClientID, "erin@example.com")
	for i := 0; i < 3; i++ {
		wantError(t, e.otp(nativeClientID, "erin@example.com", wrongCode(code), ""), 403, "invalid_grant", descWrong)
	}
	// The right code no longer works.
	wantError(t, e.otp(nativeClientID, "erin@example.com", code, ""), 403, "invalid_grant", descMax)
	// A new code does.
	code = e.startCode(nativeClientID, "erin@example.com")
	if r := e.otp(nativeClientID, "erin@example.com", code, ""); r.Status != 200 {
		t.Fatalf("new code: %d %s", r.Status, r.Body)
	}
}

func TestCode_NewerCodeReplacesOlder(t *testing.T) {
	e := newEnv(t, envOptions{})
	old := e.startCode(nativeClientID, "frank@example.com")
	newer := e.startCode(nativeClientID, "frank@example.com")
	if old == newer {
		t.Skip("the two random codes happen to be equal")
	}
	wantError(t, e.otp(nativeClientID, "frank@example.com", old, ""), 403, "invalid_grant", descWrong)
	if r := e.otp(nativeClientID, "frank@example.com", newer, ""); r.Status != 200 {
		t.Fatalf("newer code: %d %s", r.Status, r.Body)
	}
}

func TestCode_Expires(t *testing.T) {
	e := newEnv(t, envOptions{timeStep: 1})
	code := e.startCode(nativeClientID, "grace@example.com")
	time.Sleep(1100 * time.Millisecond)
	wantError(t, e.otp(nativeClientID, "grace@example.com", code, ""), 403, "invalid_grant", descExpired)
}

func TestCode_IsBoundToTheClientThatAskedForIt(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.startCode(nativeClientID, "heidi@example.com")
	// Other App is not enabled on the connection at all.
	wantError(t, e.otp(otherClientID, "heidi@example.com", code, ""), 403, "unauthorized_client", "")
	// The web client is enabled, but the code was sent for the native one.
	wantError(t, e.otp(webClientID, "heidi@example.com", code, ""), 403, "invalid_grant", descWrong)
}

func TestCode_SurvivesARestart(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.startCode(nativeClientID, "ivan@example.com")
	e.restart()
	if r := e.otp(nativeClientID, "ivan@example.com", code, "openid"); r.Status != 200 {
		t.Fatalf("token after restart: %d %s", r.Status, r.Body)
	}
}

func TestDelivery_SMTPDownThenUp(t *testing.T) {
	// Reserve a port with nothing listening on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e := newEnv(t, envOptions{smtpAddr: addr, noSMTP: true})

	res := e.postJSON("/passwordless/start", map[string]any{
		"client_id": nativeClientID, "connection": "email", "email": "judy@example.com", "send": "code",
	})
	if res.Status != 200 {
		t.Fatalf("start with the mail server down: %d %s", res.Status, res.Body)
	}
	time.Sleep(1500 * time.Millisecond) // at least one failed attempt
	e.SMTP = smtptest.StartAt(t, addr)
	msgs := e.SMTP.Wait(t, 1, 20*time.Second)
	code := codeFrom(t, msgs[0])
	if r := e.otp(nativeClientID, "judy@example.com", code, ""); r.Status != 200 {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
}

func TestStart_DisableSignupSendsNothingToStrangers(t *testing.T) {
	e := newEnv(t, envOptions{})
	res := e.postJSON("/passwordless/start", map[string]any{
		"client_id": webClientID, "client_secret": webSecret, "connection": "closed", "email": "mallory@example.com", "send": "code",
	})
	if res.Status != 200 || res.str("email") != "mallory@example.com" || res.JSON["email_verified"] != false {
		t.Fatalf("start: %d %s", res.Status, res.Body)
	}
	// The start queued a suppressed message (the same work as a real
	// one); the worker drops it, and nothing reaches the mail server.
	id := res.str("_id")
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := e.App.Store.OutboxMessage(context.Background(), id)
		if err != nil {
			t.Fatalf("outbox message %s: %v", id, err)
		}
		if m.Kind != delivery.KindSuppressed {
			t.Fatalf("outbox message kind = %q, want %q", m.Kind, delivery.KindSuppressed)
		}
		if m.Status != store.OutboxPending {
			if m.Payload != nil {
				t.Fatalf("the dropped message kept its payload")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker never dropped the suppressed message")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.SMTP.Messages()); n != 0 {
		t.Fatalf("%d messages sent to an unknown address on a closed connection", n)
	}
}

func TestTenant_LoadingTheSameFileTwiceChangesNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	before, err := e.App.Store.Tenant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.restart()
	after, err := e.App.Store.Tenant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("the tenant changed on a second load:\nbefore %+v\nafter  %+v", before, after)
	}
}
