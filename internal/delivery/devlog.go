package delivery

import (
	"context"
	"log/slog"
)

// DevelopmentDeliveryLabel starts the log record of every message that
// LogSender "sends", so that nobody mistakes it for real delivery.
const DevelopmentDeliveryLabel = "DEVELOPMENT DELIVERY (no email provider configured): message not sent"

// LogSender is development delivery: instead of sending, it writes the
// message it would have sent to the log. It is the only place in Sesame
// where a code may appear in output, and it is used only when no email
// provider is configured.
type LogSender struct {
	Logger *slog.Logger // nil: slog.Default()
}

// SendEmail logs e as one record at warn level (it must be seen, and it is
// never what a production setup wants).
func (s LogSender) SendEmail(ctx context.Context, e Email) error {
	l := s.Logger
	if l == nil {
		l = slog.Default()
	}
	l.LogAttrs(ctx, slog.LevelWarn, DevelopmentDeliveryLabel,
		slog.String("from", e.From),
		slog.String("to", e.To),
		slog.String("subject", e.Subject),
		slog.String("text", e.Text),
	)
	return nil
}
