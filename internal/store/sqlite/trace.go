package sqlite

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracer starts a span around each transaction (internal/telemetry turns
// it on): its time includes the wait for the database. Spans carry no SQL
// arguments.
var tracer = otel.Tracer("sesame/store/sqlite")

// startSpan starts the span of one transaction; end ends it with err.
func startSpan(ctx context.Context, name string) (context.Context, func(err error)) {
	ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient))
	return ctx, func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, "failed")
		}
		span.End()
	}
}
