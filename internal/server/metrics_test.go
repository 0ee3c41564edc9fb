package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/metrics"
)

func TestMetrics_RequestsAreCountedByRoutePatternNeverByPath(t *testing.T) {
	m := metrics.New()
	s := &Server{Issuer: "https://login.example.com/auth/", Logger: slog.New(slog.DiscardHandler), Now: time.Now,
		Metrics: m, ServeMetrics: true}
	h := s.Handler()
	for _, path := range []string{"/auth/healthz", "/auth/healthz", "/auth/no/such/path/alice@example.com", "/elsewhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/auth/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /auth/metrics: %d", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`sesame_http_requests_total{code="200",route="GET /healthz"} 2`,
		`sesame_http_requests_total{code="404",route="unmatched"} 2`,
		`sesame_http_request_duration_seconds_count{route="GET /healthz"} 2`,
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("no %s in\n%s", want, body)
		}
	}
	if strings.Contains(string(body), "alice") || strings.Contains(string(body), "no/such") {
		t.Errorf("a raw path reached a label:\n%s", body)
	}
}

func TestMetrics_NotServedWithoutServeMetrics(t *testing.T) {
	s := &Server{Issuer: "https://login.example.com/", Logger: slog.New(slog.DiscardHandler), Now: time.Now, Metrics: metrics.New()}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /metrics without ServeMetrics: %d, want 404", rec.Code)
	}
}
