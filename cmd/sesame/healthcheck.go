package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/sesame-id/sesame/internal/app"
)

// healthcheck is `sesame healthcheck`: it asks the server this container or
// host runs for GET /healthz and succeeds on a 200, for a container's
// HEALTHCHECK or a supervisor. Liveness, not readiness: a replica whose
// database is unreachable answers 503 on /readyz but is not restarted for
// it (every replica would be, together).
//
// The address is --url, else the loopback side of SESAME_LISTEN; with
// SESAME_TLS_CERT set it speaks HTTPS and trusts that certificate only.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "", "URL to GET (default: /healthz on the loopback side of SESAME_LISTEN)")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	client := &http.Client{Timeout: *timeout}
	u := *target
	if u == "" {
		listen := getenv("SESAME_LISTEN")
		if listen == "" {
			listen = app.DefaultListen
		}
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			return fmt.Errorf("healthcheck: SESAME_LISTEN %q: %w", listen, err)
		}
		scheme := "http"
		if cert := getenv("SESAME_TLS_CERT"); cert != "" {
			cfg, err := trustOnly(cert)
			if err != nil {
				return fmt.Errorf("healthcheck: %w", err)
			}
			client.Transport = &http.Transport{TLSClientConfig: cfg}
			scheme = "https"
		}
		u = scheme + "://" + net.JoinHostPort(app.LoopbackHost(host), port) + "/healthz"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: %s", u, res.Status)
	}
	return nil
}

// trustOnly is a TLS configuration that trusts the server's own
// certificate (the first in the PEM file) and checks it under the first
// name it carries, since the check connects to a loopback address.
func trustOnly(certFile string) (*tls.Config, error) {
	b, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM certificate in " + certFile)
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	name := ""
	switch {
	case len(leaf.DNSNames) > 0:
		name = leaf.DNSNames[0]
	case len(leaf.IPAddresses) > 0:
		name = leaf.IPAddresses[0].String()
	}
	return &tls.Config{RootCAs: pool, ServerName: name, MinVersion: tls.VersionTLS12}, nil
}
