package e2e

import (
	"net/http"
	"testing"
	"time"
)

// TestSMS_ProviderTimeoutOfTheConnection: options.sesame.provider_timeout
// bounds the call to the connection's provider, Twilio or the gateway:
// with 1 s, a provider that takes 5 s makes /start answer
// sms_provider_error after about a second, where the server's default
// would wait 30 s. Nothing becomes live.
func TestSMS_ProviderTimeoutOfTheConnection(t *testing.T) {
	tw, gw := startFakeTwilio(t), startFakeGateway(t)
	e := newEnv(t, envOptions{twilioURL: tw.URL, gatewayURL: gw.URL})
	tw.answer(func(w http.ResponseWriter) {
		time.Sleep(5 * time.Second)
		w.WriteHeader(http.StatusInternalServerError)
	})
	gw.answer(0, 5*time.Second)
	for conn, desc := range map[string]string{
		"sms-impatient":         "Could not reach Twilio: ETIMEDOUT",
		"sms-gateway-impatient": "Timeout while calling the SMS gateway: ETIMEDOUT",
	} {
		t.Run(conn, func(t *testing.T) {
			began := time.Now()
			r := e.startSMS(conn, "+16502530177")
			took := time.Since(began)
			wantError(t, r, 400, "sms_provider_error", desc)
			if took < 900*time.Millisecond || took > 3*time.Second {
				t.Errorf("the start took %v, want about the connection's 1 s", took)
			}
		})
	}
	if n := len(tw.messages()) + len(gw.messages()); n != 2 {
		t.Errorf("the providers were called %d times, want 2", n)
	}
}
