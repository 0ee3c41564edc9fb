package passwordless

import (
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sesame-id/sesame/internal/telemetry"
)

var tracer = telemetry.Tracer("sesame/passwordless")

// endSpan ends a span with its outcome: the Auth0 error code of a refusal
// (never its description, which may name the identifier), or an error
// status for a failure.
func endSpan(span trace.Span, err error) {
	var pe *Error
	switch {
	case err == nil:
	case errors.As(err, &pe):
		span.SetAttributes(attribute.String("sesame.outcome", pe.Code))
	default:
		span.SetStatus(codes.Error, "failed")
	}
	span.End()
}
