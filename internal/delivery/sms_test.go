package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/sesame-id/sesame/internal/tenant"
)

func TestNewSender_PicksProviderFromOptionsAsAuth0SpellsThem(t *testing.T) {
	tests := []struct {
		name string
		opts tenant.ConnectionOptions
		want string // "gateway", "twilio", "log" or "misconfigured"
	}{
		{name: "nothing configured", opts: tenant.ConnectionOptions{From: "+16502530001"}, want: "log"},
		{name: "sms_gateway", opts: tenant.ConnectionOptions{Provider: "sms_gateway", GatewayURL: "https://gw.example/sms"}, want: "gateway"},
		{name: "gateway_url alone", opts: tenant.ConnectionOptions{GatewayURL: "https://gw.example/sms"}, want: "gateway"},
		{name: "gateway wins over leftover Twilio keys", opts: tenant.ConnectionOptions{Provider: "sms_gateway", GatewayURL: "https://gw.example/sms", TwilioSID: "AC1", TwilioToken: "t"}, want: "gateway"},
		{name: "twilio keys", opts: tenant.ConnectionOptions{TwilioSID: "AC1", TwilioToken: "t"}, want: "twilio"},
		{name: "twilio named", opts: tenant.ConnectionOptions{Provider: "twilio", TwilioSID: "AC1", TwilioToken: "t"}, want: "twilio"},
		{name: "twilio without token", opts: tenant.ConnectionOptions{TwilioSID: "AC1"}, want: "misconfigured"},
		{name: "twilio named without keys", opts: tenant.ConnectionOptions{Provider: "twilio"}, want: "misconfigured"},
		{name: "messaging service alone", opts: tenant.ConnectionOptions{MessagingServiceSID: "MG1"}, want: "misconfigured"},
		{name: "unknown provider", opts: tenant.ConnectionOptions{Provider: "vonage", TwilioSID: "AC1", TwilioToken: "t"}, want: "misconfigured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			switch s := NewSMSSender(tt.opts, SMSConfig{}).(type) {
			case *gatewaySender:
				got = "gateway"
			case *twilioSender:
				got = "twilio"
			case LogSender:
				got = "log"
			case failing:
				got = "misconfigured"
				err := s.SendSMS(context.Background(), SMS{To: "+16502530000", Body: "x"})
				var e *ProviderError
				if err == nil || errors.As(err, &e) {
					t.Fatalf("misconfigured sender: error = %v, want a plain configuration error", err)
				}
			default:
				t.Fatalf("NewSMSSender = %T", s)
			}
			if got != tt.want {
				t.Fatalf("NewSMSSender picked %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLogSender_LogsAnSMSAsOneLabelledWarning(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := NewSMSSender(tenant.ConnectionOptions{From: "Acme"}, SMSConfig{Logger: logger})
	err := s.SendSMS(context.Background(), SMS{To: "+16502530000", Body: "Your verification code is: 123456"})
	if err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d log records, want 1:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"level": "WARN", "msg": "DEVELOPMENT DELIVERY (no SMS provider configured): message not sent",
		"channel": "sms", "from": "Acme", "to": "+16502530000", "body": "Your verification code is: 123456",
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("record[%q] = %v, want %v", k, rec[k], v)
		}
	}
}
