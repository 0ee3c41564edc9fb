package delivery

import (
	"context"
	"log/slog"
)

// The messages of development delivery's log records, so that nobody
// mistakes them for real delivery.
const (
	DevelopmentDeliveryLabel    = "DEVELOPMENT DELIVERY (no email provider configured): message not sent"
	DevelopmentSMSDeliveryLabel = "DEVELOPMENT DELIVERY (no SMS provider configured): message not sent"
)

// LogSender is development delivery, of email and of SMS: instead of
// sending, it writes the message it would have sent to the log. It is the
// only place in Sesame where a code may appear in output, and Providers
// picks it only when no email provider is configured, or an sms connection
// configures no provider at all.
type LogSender struct {
	Logger *slog.Logger // nil: slog.Default()
	From   string       // an SMS's sender when the message has none (the connection's from)
}

func (s LogSender) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// SendEmail logs e as one record at warn level (it must be seen, and it is
// never what a production setup wants).
func (s LogSender) SendEmail(ctx context.Context, e Email) error {
	s.logger().LogAttrs(ctx, slog.LevelWarn, DevelopmentDeliveryLabel,
		slog.String("from", e.From),
		slog.String("to", e.To),
		slog.String("subject", e.Subject),
		slog.String("text", e.Text),
	)
	return nil
}

// SendSMS logs m as one record at warn level, like SendEmail. It never
// fails.
func (s LogSender) SendSMS(ctx context.Context, m SMS) error {
	from := m.From
	if from == "" {
		from = s.From
	}
	s.logger().LogAttrs(ctx, slog.LevelWarn, DevelopmentSMSDeliveryLabel,
		slog.String("channel", "sms"),
		slog.String("from", from),
		slog.String("to", m.To),
		slog.String("body", m.Body),
	)
	return nil
}
