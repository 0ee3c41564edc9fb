package app

import (
	"context"
	"net"
	"net/http"
	"time"
)

// ListenMetrics serves the metrics on /metrics of addr (--metrics-listen)
// until ctx ends, and returns the address it listens on. Nothing else is
// served there, and the main listener then has no /metrics.
func (a *App) ListenMetrics(ctx context.Context, addr string) (net.Addr, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return ln.Addr(), nil
}
