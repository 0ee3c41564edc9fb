// Package app assembles Sesame from its parts: it reads the configuration
// (flags > environment > defaults, in this one place), opens the store,
// loads the tenant, and runs the HTTP server and the delivery worker.
package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// ErrHelp is returned when the user asked for -h.
var ErrHelp = flag.ErrHelp

// Config is everything the server is started with.
type Config struct {
	Listen   string // host:port
	Issuer   string // public URL, with a trailing slash
	Database string // sqlite:PATH
	Tenant   string // tenant file, or empty for the development tenant
	TLSCert  string
	TLSKey   string
	LogLevel slog.Level

	// TwilioAPIURL is the base URL of Twilio's REST API; tests and
	// Twilio-compatible gateways point it elsewhere.
	TwilioAPIURL string
	// SMSGatewayTimeout bounds a call to a custom SMS gateway.
	SMSGatewayTimeout time.Duration

	// PurgeInterval is how often dead codes, outbox rows and tokens are
	// deleted.
	PurgeInterval time.Duration
}

// DefaultListen is where sesame serve listens by default.
const DefaultListen = "127.0.0.1:8080"

// ParseConfig reads the flags of a sub-command; every flag falls back to
// SESAME_<NAME> in the environment, then to its default.
func ParseConfig(cmd string, args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("sesame "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv("SESAME_" + name); v != "" {
			return v
		}
		return def
	}
	var cfg Config
	var logLevel, gatewayTimeout string
	fs.StringVar(&cfg.Database, "database", env("DATABASE", "sqlite:./sesame.db"), "database: sqlite:PATH (env SESAME_DATABASE)")
	if cmd == "serve" {
		fs.StringVar(&cfg.Listen, "listen", env("LISTEN", DefaultListen), "address to listen on (env SESAME_LISTEN)")
		fs.StringVar(&cfg.Issuer, "issuer", env("ISSUER", ""), "public URL of this server, the OIDC issuer (env SESAME_ISSUER); default http(s)://LISTEN/")
		fs.StringVar(&cfg.Tenant, "tenant", env("TENANT", ""), "tenant file, YAML or JSON in the Auth0 Deploy CLI layout (env SESAME_TENANT); default: a development tenant")
		fs.StringVar(&cfg.TLSCert, "tls-cert", env("TLS_CERT", ""), "TLS certificate file: serve HTTPS (env SESAME_TLS_CERT)")
		fs.StringVar(&cfg.TLSKey, "tls-key", env("TLS_KEY", ""), "TLS private key file (env SESAME_TLS_KEY)")
		fs.StringVar(&cfg.TwilioAPIURL, "twilio-api-url", env("TWILIO_API_URL", "https://api.twilio.com"), "base URL of Twilio's REST API (env SESAME_TWILIO_API_URL)")
		fs.StringVar(&gatewayTimeout, "sms-gateway-timeout", env("SMS_GATEWAY_TIMEOUT", "30s"), "timeout of a call to a custom SMS gateway (env SESAME_SMS_GATEWAY_TIMEOUT)")
	}
	fs.StringVar(&logLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (env SESAME_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return Config{}, fmt.Errorf("--log-level: %w", err)
	}
	cfg.PurgeInterval = 10 * time.Minute
	if cmd == "serve" {
		d, err := time.ParseDuration(gatewayTimeout)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("--sms-gateway-timeout %q: want a positive duration such as 30s", gatewayTimeout)
		}
		cfg.SMSGatewayTimeout = d
		if err := cfg.finish(); err != nil {
			return Config{}, err
		}
	}
	return cfg, nil
}

// finish checks the serve settings and derives the issuer.
func (cfg *Config) finish() error {
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", cfg.Listen, err)
	}
	if cfg.Issuer == "" {
		scheme := "http"
		if cfg.TLSCert != "" {
			scheme = "https"
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		cfg.Issuer = scheme + "://" + net.JoinHostPort(host, port) + "/"
	}
	issuer, err := NormalizeIssuer(cfg.Issuer)
	if err != nil {
		return err
	}
	cfg.Issuer = issuer
	return nil
}

// NormalizeIssuer checks an issuer URL and gives it its trailing slash.
func NormalizeIssuer(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("--issuer %q: must be an http or https URL without query or fragment", s)
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s, nil
}
