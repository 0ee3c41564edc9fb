package sms

import (
	"context"
	"log/slog"
)

// DevelopmentDeliveryLabel is the message of every log record LogSender
// writes, worded like the email one (delivery.DevelopmentDeliveryLabel) so
// that nobody mistakes it for real delivery. It is our own constant rather
// than delivery's: the wording differs, and delivery may come to import sms.
const DevelopmentDeliveryLabel = "DEVELOPMENT DELIVERY (no SMS provider configured): message not sent"

// LogSender is development delivery: instead of sending, it writes the
// message it would have sent to the log. Besides email's LogSender it is the
// only place in Sesame where a code may appear in output, and NewSender
// picks it only when the connection configures no provider at all.
type LogSender struct {
	Logger *slog.Logger // nil: slog.Default()
	From   string       // used when the message has none
}

// SendSMS logs m as one record at warn level (it must be seen, and it is
// never what a production setup wants). It never fails.
func (s LogSender) SendSMS(ctx context.Context, m Message) error {
	l := s.Logger
	if l == nil {
		l = slog.Default()
	}
	from := m.From
	if from == "" {
		from = s.From
	}
	l.LogAttrs(ctx, slog.LevelWarn, DevelopmentDeliveryLabel,
		slog.String("channel", "sms"),
		slog.String("from", from),
		slog.String("to", m.To),
		slog.String("body", m.Body),
	)
	return nil
}
