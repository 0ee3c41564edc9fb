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
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-id/sesame/internal/delivery"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/token"
)

// ErrHelp is returned when the user asked for -h.
var ErrHelp = flag.ErrHelp

// Config is everything the server is started with.
type Config struct {
	Listen   string // host:port
	Issuer   string // public URL, with a trailing slash
	Database string // sqlite:PATH, postgres://… or postgresql://…
	Tenant   string // tenant file, or empty for the development tenant
	// SecretsFile is the key set's file (--secrets-file); SecretsInline
	// the key set's JSON itself (SESAME_SECRETS only, never a flag, never
	// printed). Neither: see loadSecrets.
	SecretsFile   string
	SecretsInline string
	TLSCert       string
	TLSKey        string
	LogLevel      slog.Level
	// LogFormat is "text" (logfmt) or "json", one object per line.
	LogFormat string

	// DatabasePoolSize is the PostgreSQL connection pool's size; 0 means
	// the URL's pool_max_conns, or max(4, 2×GOMAXPROCS).
	DatabasePoolSize int

	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix

	// TwilioAPIURL is the base URL of Twilio's REST API; tests and
	// Twilio-compatible gateways point it elsewhere.
	TwilioAPIURL string
	// SMSGatewayTimeout bounds a call to a custom SMS gateway.
	SMSGatewayTimeout time.Duration
	// Limits are the rate limits.
	Limits ratelimit.Settings
	// Protection is the brute-force protection.
	Protection passwordless.Protection

	// AllowPlainPKCE accepts code_challenge_method=plain; S256 only
	// otherwise.
	AllowPlainPKCE bool

	// OutboxLease is how long a delivery worker holds the messages it
	// claimed; a replica that dies holding them leaves them to the others
	// after this.
	OutboxLease time.Duration
	// DeliveryConcurrency is how many messages a replica's delivery worker
	// sends at once, each over an SMTP session it keeps open.
	DeliveryConcurrency int

	// PprofListen, when set, serves net/http/pprof on this address (keep
	// it on loopback: profiles show the program's memory).
	PprofListen string

	// MetricsOff turns the Prometheus metrics off (--metrics=false): no
	// /metrics anywhere and nothing counted.
	MetricsOff bool
	// MetricsListen, when set, serves /metrics on this address only, and
	// not on the main listener (where it is served by default).
	MetricsListen string

	// TenantReloadInterval is how often the stored tenant is reread, so
	// that a change another replica made is served within it; default 5s.
	TenantReloadInterval time.Duration

	// PurgeInterval is how often dead codes, outbox rows and tokens are
	// deleted.
	PurgeInterval time.Duration
	// LogRetention is how long tenant log events are kept; 0 means
	// store.DefaultEventRetention (30 days).
	LogRetention time.Duration

	// KeyReloadInterval is how often each replica reloads the signing keys
	// from the database (the longest it takes to see a rotation); 0 means
	// token.DefaultReloadInterval.
	KeyReloadInterval time.Duration
	// KeyRotationInterval rotates the signing keys on a schedule: a current
	// key this old is replaced. 0 turns scheduled rotation off.
	KeyRotationInterval time.Duration
	// KeyAlgorithm is the algorithm `sesame keys rotate` rotates.
	KeyAlgorithm string

	// ExportFormat is what `sesame tenant export` writes: yaml or json.
	ExportFormat string
	// ExportOutput is where `sesame tenant export` writes: a directory
	// (tenant.yaml or tenant.json in it), a file ending in .yaml, .yml or
	// .json, or "" for standard output (email bodies inline).
	ExportOutput string

	// Now is the clock of every expiry, limit and block; nil means
	// time.Now. Tests set it to simulate days without sleeping.
	Now func() time.Time
}

// clock is Now, or time.Now when it is not set.
func (c Config) clock() func() time.Time {
	if c.Now != nil {
		return c.Now
	}
	return time.Now
}

// DefaultListen is where sesame serve listens by default.
const DefaultListen = "127.0.0.1:8080"

// ParseConfig reads the flags of a sub-command; every flag falls back to
// SESAME_<NAME> in the environment, then to its default.
func ParseConfig(cmd string, args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	cfg, _, err := parseConfig(cmd, args, getenv, stderr)
	return cfg, err
}

// parseConfig is ParseConfig, also returning the flag set it parsed with
// (for the configuration reference and config check).
func parseConfig(cmd string, args []string, getenv func(string) string, stderr io.Writer) (_ Config, fs *flag.FlagSet, _ error) {
	fs = flag.NewFlagSet("sesame "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv("SESAME_" + name); v != "" {
			return v
		}
		return def
	}
	cfg := Config{OutboxLease: 60 * time.Second, DeliveryConcurrency: delivery.DefaultConcurrency,
		LogRetention: store.DefaultEventRetention}
	var logLevel, gatewayTimeout, trustedProxies, poolSize string
	fs.StringVar(&cfg.Database, "database", env("DATABASE", "sqlite:./sesame.db"), "sqlite:PATH, or a PostgreSQL URL postgres://… / postgresql://… (env SESAME_DATABASE)")
	fs.StringVar(&poolSize, "database-pool-size", env("DATABASE_POOL_SIZE", "0"), "PostgreSQL connections per process; 0 takes the URL's pool_max_conns, else max(4, 2×GOMAXPROCS); ignored for SQLite (env SESAME_DATABASE_POOL_SIZE)")
	if cmd == "serve" {
		fs.StringVar(&cfg.Listen, "listen", env("LISTEN", DefaultListen), "address to listen on (env SESAME_LISTEN)")
		fs.StringVar(&cfg.Issuer, "issuer", env("ISSUER", ""), "public URL, the OIDC issuer; default http(s)://LISTEN/ (env SESAME_ISSUER)")
		fs.StringVar(&cfg.Tenant, "tenant", env("TENANT", ""), "tenant file, YAML or JSON, in the Auth0 Deploy CLI layout; default: a development tenant (env SESAME_TENANT)")
		fs.StringVar(&cfg.SecretsFile, "secrets-file", env("SECRETS_FILE", ""), "the JSON file of keys that HMAC codes and seal queued mail, kept outside the database (make it with sesame secrets generate; or put its JSON in SESAME_SECRETS); default: for SQLite, DATABASE.secrets.json beside the database, generated on first start; PostgreSQL requires it; see Secrets (env SESAME_SECRETS_FILE)")
		cfg.SecretsInline = getenv("SESAME_SECRETS")
		fs.StringVar(&cfg.TLSCert, "tls-cert", env("TLS_CERT", ""), "serve HTTPS directly; needs --tls-key (env SESAME_TLS_CERT)")
		fs.StringVar(&cfg.TLSKey, "tls-key", env("TLS_KEY", ""), "private key for --tls-cert (env SESAME_TLS_KEY)")
		fs.StringVar(&cfg.PprofListen, "pprof-listen", env("PPROF_LISTEN", ""), "serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060, never on the main listener; keep it on loopback (serve; how docs/BENCHMARKS.md's profiles are taken: go run ./bench -server-flags \"--pprof-listen 127.0.0.1:6061\") (env SESAME_PPROF_LISTEN)")
		fs.StringVar(&cfg.MetricsListen, "metrics-listen", env("METRICS_LISTEN", ""), "serve /metrics on this address only (e.g. 127.0.0.1:9090), not on the main listener, where it is served by default; contradicts --metrics=false (env SESAME_METRICS_LISTEN)")
		fs.StringVar(&trustedProxies, "trusted-proxies", env("TRUSTED_PROXIES", ""), "comma-separated CIDRs (or addresses) of proxies whose X-Forwarded-For is believed (env SESAME_TRUSTED_PROXIES)")
		fs.StringVar(&cfg.TwilioAPIURL, "twilio-api-url", env("TWILIO_API_URL", "https://api.twilio.com"), "base URL of Twilio's REST API; point it at a Twilio-compatible service or a test server (env SESAME_TWILIO_API_URL)")
		fs.StringVar(&gatewayTimeout, "sms-gateway-timeout", env("SMS_GATEWAY_TIMEOUT", "30s"), "how long a call to a custom SMS gateway may take, a positive Go duration (25s, 1m); see SMS connections (env SESAME_SMS_GATEWAY_TIMEOUT)")
	}
	fs.StringVar(&cfg.LogFormat, "log-format", env("LOG_FORMAT", "text"), "text (key=value) or json, one object per line (env SESAME_LOG_FORMAT)")
	fs.StringVar(&logLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn, error (env SESAME_LOG_LEVEL)")
	limits := ratelimit.Defaults()
	protection := passwordless.DefaultProtection()
	metricsOn := true
	if cmd == "serve" {
		// Each setting is a flag --NAME and a variable SESAME_NAME (upper
		// case, dashes as underscores); flag prints the default.
		for _, f := range []struct {
			name  string
			value flag.Value
			usage string
		}{
			{"limit-start-ip", limitFlag{&limits.StartPerIP}, "rate limit BURST/PERIOD: starts per end-user address"},
			{"limit-recipient", limitFlag{&limits.PerRecipient}, "rate limit BURST/PERIOD: messages per mailbox (+tags and Gmail dots folded) or number and connection"},
			{"limit-recipient-day", limitFlag{&limits.RecipientPerDay}, "rate limit BURST/PERIOD: the same, over a day (ours): with the 15-minute limit alone one address could be sent 480 messages a day"},
			{"limit-token-ip", limitFlag{&limits.TokenPerIP}, "rate limit BURST/PERIOD: authorization_code, refresh_token and client_credentials grants and POST /oauth/revoke per end-user IP (ours; Auth0 limits /oauth/token per tenant)"},
			{"limit-verify-ip", limitFlag{&limits.VerifyPerIP}, "rate limit BURST/PERIOD: code checks per address"},
			{"limit-userinfo", limitFlag{&limits.UserInfoPerUser}, "rate limit BURST/PERIOD: /userinfo per user"},
			{"limit-sms-country", limitFlag{&limits.SMSPerCountry}, "rate limit BURST/PERIOD: SMS per country calling code and connection"},
			{"limit-management", limitFlag{&limits.ManagementPerClient}, "rate limit BURST/PERIOD: Management API (/api/v2/) requests per calling client (about Auth0's 16 a second for paid tenants); requests with a refused token share one bucket"},
			{"bf-ip-threshold", intFlag{&protection.PairThreshold}, "consecutive failures of one identifier from one address that block the pair; 0 turns it off"},
			{"bf-ip-block", durationFlag{dst: &protection.PairBlock}, "how long a pair block lasts (Auth0: 720h)"},
			{"bf-account-threshold", intFlag{&protection.AccountThreshold}, "failures of one identifier from any address within the window that lock it; 0 turns it off"},
			{"bf-account-window", durationFlag{dst: &protection.AccountWindow}, "the rolling window of the account lockout"},
			{"bf-suspicious-ip-threshold", intFlag{&protection.IPThreshold}, "failures from one address on any identifiers within the window that block the address; 0 turns it off"},
			{"bf-suspicious-ip-window", durationFlag{dst: &protection.IPWindow}, "its rolling window"},
			{"outbox-lease", durationFlag{dst: &cfg.OutboxLease}, "how long a delivery worker holds the messages it claimed; if its process dies holding them, another replica sends them once the lease ends"},
			{"delivery-concurrency", intFlag{&cfg.DeliveryConcurrency}, "messages a replica's delivery worker sends at once (1 to 1024), each over an SMTP session it keeps open; the worker holds at most twice as many claimed; see Email provider and delivery"},
			{"allow-plain-pkce", boolFlag{&cfg.AllowPlainPKCE}, "accept PKCE code_challenge_method=plain (and a challenge without a method, which means plain); by default only S256 is accepted"},
			{"metrics", boolFlag{&metricsOn}, "count and serve the Prometheus metrics; false turns them off (nothing counted, no /metrics anywhere); see Metrics"},
			{"key-rotation-interval", durationFlag{&cfg.KeyRotationInterval, true}, "rotate a signing key once it is this old, a Go duration (720h for 30 days); see Signing keys"},
			{"log-retention", durationFlag{dst: &cfg.LogRetention}, "how long tenant log events are kept before the janitor deletes them, a Go duration; Auth0 keeps 30 days on its enterprise plans, 2 to 10 on the others"},
		} {
			envName := "SESAME_" + strings.ToUpper(strings.ReplaceAll(f.name, "-", "_"))
			fs.Var(f.value, f.name, f.usage+" (env "+envName+")")
			if v := getenv(envName); v != "" {
				if err := f.value.Set(v); err != nil {
					return Config{}, fs, fmt.Errorf("%s: %w", envName, err)
				}
			}
		}
	}
	if cmd == "serve" || cmd == "keys" {
		cfg.KeyReloadInterval = token.DefaultReloadInterval
		envName := "SESAME_KEY_RELOAD_INTERVAL"
		f := durationFlag{dst: &cfg.KeyReloadInterval}
		fs.Var(f, "key-reload-interval", "how often a replica reloads the signing keys from the database: a rotation reaches every replica within it (serve; keys rotate adds it to how long the replaced key stays published, so give it the servers' value) (env "+envName+")")
		if v := getenv(envName); v != "" {
			if err := f.Set(v); err != nil {
				return Config{}, fs, fmt.Errorf("%s: %w", envName, err)
			}
		}
	}
	if cmd == "keys" {
		fs.StringVar(&cfg.KeyAlgorithm, "alg", token.RS256, "keys rotate: the algorithm whose key is rotated, RS256 or ES256")
	}
	if cmd == "tenant" {
		fs.StringVar(&cfg.ExportFormat, "format", "", "tenant export: yaml or json; default yaml, or what the --output file's extension says")
		fs.StringVar(&cfg.ExportOutput, "output", "", "tenant export: a directory (tenant.yaml and connections/*.html in it) or a .yaml/.yml/.json file; default: standard output, email bodies inline")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, fs, err
	}
	if fs.NArg() > 0 {
		return Config{}, fs, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	n, err := strconv.Atoi(poolSize)
	if err != nil || n < 0 {
		return Config{}, fs, fmt.Errorf("--database-pool-size %q: want a whole number of connections, 0 for the default", poolSize)
	}
	cfg.DatabasePoolSize = n
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return Config{}, fs, fmt.Errorf("--log-format %q: want text or json", cfg.LogFormat)
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return Config{}, fs, fmt.Errorf("--log-level: %w", err)
	}
	cfg.PurgeInterval = 10 * time.Minute
	cfg.Limits, cfg.Protection = limits, protection
	if cmd == "serve" {
		d, err := time.ParseDuration(gatewayTimeout)
		if err != nil || d <= 0 {
			return Config{}, fs, fmt.Errorf("--sms-gateway-timeout %q: want a positive duration such as 30s", gatewayTimeout)
		}
		cfg.SMSGatewayTimeout = d
		cfg.MetricsOff = !metricsOn
		if cfg.MetricsOff && cfg.MetricsListen != "" {
			return Config{}, fs, errors.New("--metrics=false and --metrics-listen contradict each other: drop one")
		}
		if cfg.DeliveryConcurrency < 1 || cfg.DeliveryConcurrency > 1024 {
			return Config{}, fs, fmt.Errorf("--delivery-concurrency %d: want 1 to 1024", cfg.DeliveryConcurrency)
		}
		if cfg.TrustedProxies, err = ParseCIDRs(trustedProxies); err != nil {
			return Config{}, fs, fmt.Errorf("--trusted-proxies: %w", err)
		}
		if err := cfg.finish(); err != nil {
			return Config{}, fs, err
		}
	}
	return cfg, fs, nil
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
		cfg.Issuer = scheme + "://" + net.JoinHostPort(LoopbackHost(host), port) + "/"
	}
	issuer, err := NormalizeIssuer(cfg.Issuer)
	if err != nil {
		return err
	}
	cfg.Issuer = issuer
	return nil
}

// LoopbackHost is host, or 127.0.0.1 when host is empty or an unspecified
// address (0.0.0.0, ::): the address that reaches a server listening on
// every interface from the same machine.
func LoopbackHost(host string) string {
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return "127.0.0.1"
	}
	return host
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

// ParseCIDRs reads a comma-separated list of CIDRs; a bare address stands
// for itself.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR or an address", part)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

type limitFlag struct{ dst *store.Limit }

func (f limitFlag) String() string {
	if f.dst == nil {
		return ""
	}
	return ratelimit.FormatLimit(*f.dst)
}

func (f limitFlag) Set(s string) error {
	l, err := ratelimit.ParseLimit(s)
	if err != nil {
		return err
	}
	*f.dst = l
	return nil
}

type boolFlag struct{ dst *bool }

func (f boolFlag) String() string {
	if f.dst == nil {
		return "false"
	}
	return strconv.FormatBool(*f.dst)
}

func (f boolFlag) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q: want true or false", s)
	}
	*f.dst = b
	return nil
}

// IsBoolFlag lets --allow-plain-pkce stand alone, without =true.
func (f boolFlag) IsBoolFlag() bool { return true }

type intFlag struct{ dst *int }

func (f intFlag) String() string {
	if f.dst == nil {
		return ""
	}
	return strconv.Itoa(*f.dst)
}

func (f intFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("%q: want a whole number, 0 for off", s)
	}
	*f.dst = n
	return nil
}

// durationFlag is a positive duration, or with zeroOff also 0 (off).
type durationFlag struct {
	dst     *time.Duration
	zeroOff bool
}

func (f durationFlag) String() string {
	if f.dst == nil {
		return ""
	}
	return f.dst.String()
}

func (f durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if f.zeroOff && err == nil && d == 0 {
		*f.dst = 0
		return nil
	}
	if err != nil || d <= 0 {
		if f.zeroOff {
			return fmt.Errorf("%q: want a positive duration such as 720h, or 0 for off", s)
		}
		return fmt.Errorf("%q: want a positive duration such as 1h", s)
	}
	*f.dst = d
	return nil
}

// NewLogger is the process's logger as the configuration asks: text or
// JSON lines on w, from LogLevel up.
func (c Config) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
