package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sesame-id/sesame/internal/telemetry"
)

// otlpReceiver is an OTLP/HTTP trace receiver: what a collector would be
// sent.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err != nil || r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	_, _ = w.Write(b)
}

// TestTracing_ALoginSpansHTTPServiceStoreAndDelivery turns tracing on as an
// operator does (OTEL_EXPORTER_OTLP_ENDPOINT), runs an email-code login and
// checks what the collector receives: the start's server span with the
// service's span under it and the store's under that, the token request's
// span with the code check under it, a delivery span for the mail, and no
// address, code or token in any attribute.
func TestTracing_ALoginSpansHTTPServiceStoreAndDelivery(t *testing.T) {
	rcv := &otlpReceiver{}
	col := httptest.NewServer(rcv)
	defer col.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	stop, err := telemetry.Setup(t.Context(), os.Getenv, "test")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{})
	const user = "traced@example.com"
	code := e.startCode(nativeClientID, user)
	tok := e.otp(nativeClientID, user, code, "openid")
	if tok.Status != http.StatusOK {
		t.Fatalf("login: %d %s", tok.Status, tok.Body)
	}
	time.Sleep(100 * time.Millisecond) // the worker records its send
	if err := stop(t.Context()); err != nil {
		t.Fatalf("flush: %v", err)
	}

	rcv.mu.Lock()
	spans := rcv.spans
	rcv.mu.Unlock()
	byID := map[string]*tracepb.Span{}
	for _, s := range spans {
		byID[string(s.SpanId)] = s
	}
	parentName := func(s *tracepb.Span) string {
		if p := byID[string(s.ParentSpanId)]; p != nil {
			return p.Name
		}
		return ""
	}
	has := func(name, parent string) bool {
		for _, s := range spans {
			if s.Name == name && (parent == "" || parentName(s) == parent) {
				return true
			}
		}
		return false
	}
	store := "sqlite.write"
	if e.DB == "" {
		store = "postgres.write"
	}
	for _, want := range []struct{ name, parent string }{
		{"POST /passwordless/start", ""},
		{"passwordless.Start", "POST /passwordless/start"},
		{store, "passwordless.Start"},
		{"POST /oauth/token", ""},
		{"passwordless.Verify", "POST /oauth/token"},
		{store, "passwordless.Verify"},
		{"delivery.send", ""},
	} {
		if !has(want.name, want.parent) {
			names := make([]string, len(spans))
			for i, s := range spans {
				names[i] = s.Name + " < " + parentName(s)
			}
			t.Errorf("no span %q under %q; got:\n%s", want.name, want.parent, strings.Join(names, "\n"))
		}
	}
	for _, s := range spans {
		for _, a := range s.Attributes {
			v := a.GetValue().String()
			for _, secret := range []string{user, code, tok.str("access_token"), tok.str("id_token")} {
				if strings.Contains(v, secret) {
					t.Errorf("span %s attribute %s holds a secret or an address", s.Name, a.Key)
				}
			}
		}
	}
}
