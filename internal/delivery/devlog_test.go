package delivery

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestLogSender_LogsOneLabelledRecord(t *testing.T) {
	var buf bytes.Buffer
	s := LogSender{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	err := s.SendEmail(context.Background(), Email{From: "<a@x.test>", To: "ann@example.test", Subject: "Welcome", HTML: "<b>483920</b>", Text: "Your code is 483920\n"})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if n := strings.Count(out, "\n"); n != 1 {
		t.Errorf("%d lines, want 1:\n%s", n, out)
	}
	for _, want := range []string{DevelopmentDeliveryLabel, "ann@example.test", "Welcome", "483920", "level=WARN"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
