package app

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/store"
)

func TestParseConfig_FlagsBeatEnvironmentBeatDefaults(t *testing.T) {
	env := map[string]string{
		"SESAME_LISTEN":   "127.0.0.1:9000",
		"SESAME_DATABASE": "sqlite:/tmp/env.db",
		"SESAME_TENANT":   "env.yaml",
	}
	cfg, err := ParseConfig("serve", []string{"--listen", "127.0.0.1:9100"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9100" || cfg.Database != "sqlite:/tmp/env.db" || cfg.Tenant != "env.yaml" {
		t.Fatalf("cfg = %+v", cfg)
	}
	if cfg.Issuer != "http://127.0.0.1:9100/" {
		t.Errorf("issuer derived from --listen = %q", cfg.Issuer)
	}

	cfg, err = ParseConfig("serve", nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8080" || cfg.Database != "sqlite:./sesame.db" || cfg.Issuer != "http://127.0.0.1:8080/" || cfg.Tenant != "" {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestParseConfig_IssuerIsThePublicURL(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		// Behind a TLS-terminating proxy: plain HTTP inside, https outside.
		{[]string{"--listen", "0.0.0.0:8080", "--issuer", "https://login.example.com"}, "https://login.example.com/"},
		{[]string{"--issuer", "https://login.example.com/tenant/"}, "https://login.example.com/tenant/"},
		{[]string{"--listen", "0.0.0.0:8443", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, "https://127.0.0.1:8443/"},
	}
	for _, c := range cases {
		cfg, err := ParseConfig("serve", c.args, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if cfg.Issuer != c.want {
			t.Errorf("%v: issuer = %q, want %q", c.args, cfg.Issuer, c.want)
		}
	}
	for _, bad := range [][]string{
		{"--issuer", "login.example.com"},
		{"--issuer", "ftp://login.example.com/"},
		{"--issuer", "https://login.example.com/?x=1"},
		{"--tls-cert", "c.pem"},
		{"--listen", "nope"},
		{"extra"},
	} {
		if _, err := ParseConfig("serve", bad, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

func TestParseConfig_AttackProtectionSettings(t *testing.T) {
	cfg, err := ParseConfig("serve", nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Limits != ratelimit.Defaults() || cfg.Protection != passwordless.DefaultProtection() || cfg.TrustedProxies != nil {
		t.Fatalf("defaults: %+v %+v %v", cfg.Limits, cfg.Protection, cfg.TrustedProxies)
	}
	env := map[string]string{
		"SESAME_LIMIT_START_IP":       "10/1m",
		"SESAME_LIMIT_RECIPIENT":      "3/1h",
		"SESAME_BF_ACCOUNT_THRESHOLD": "0",
		"SESAME_TRUSTED_PROXIES":      "10.0.0.0/8, 192.168.1.1",
	}
	cfg, err = ParseConfig("serve", []string{"--limit-recipient", "7/30m", "--bf-ip-block", "720h", "--bf-suspicious-ip-threshold", "500"},
		func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := ratelimit.Defaults()
	want.StartPerIP = store.Limit{Burst: 10, Per: time.Minute}
	want.PerRecipient = store.Limit{Burst: 7, Per: 30 * time.Minute}
	if cfg.Limits != want {
		t.Errorf("limits = %+v, want %+v", cfg.Limits, want)
	}
	p := passwordless.DefaultProtection()
	p.AccountThreshold, p.PairBlock, p.IPThreshold = 0, 720*time.Hour, 500
	if cfg.Protection != p {
		t.Errorf("protection = %+v, want %+v", cfg.Protection, p)
	}
	if fmt.Sprint(cfg.TrustedProxies) != "[10.0.0.0/8 192.168.1.1/32]" {
		t.Errorf("trusted proxies = %v", cfg.TrustedProxies)
	}
	for _, args := range [][]string{
		{"--limit-start-ip", "50"}, {"--limit-start-ip", "0/1h"}, {"--limit-verify-ip", "5/-1s"},
		{"--bf-ip-threshold", "-1"}, {"--trusted-proxies", "not-a-network"},
	} {
		if _, err := ParseConfig("serve", args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("ParseConfig(%q) accepted a bad value", args)
		}
	}
}

func TestWriteTimeoutOutlastsTheSMSProviders(t *testing.T) {
	if got := writeTimeout(Config{SMSGatewayTimeout: 30 * time.Second}); got != 60*time.Second {
		t.Errorf("write timeout with the default gateway timeout = %v, want 60s", got)
	}
	if got := writeTimeout(Config{SMSGatewayTimeout: 90 * time.Second}); got != 105*time.Second {
		t.Errorf("write timeout with a 90s gateway timeout = %v, want 105s", got)
	}
}

func TestParseConfig_OutboxLease(t *testing.T) {
	cfg, err := ParseConfig("serve", nil, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.OutboxLease != time.Minute {
		t.Fatalf("default outbox lease = %v, %v; want 1m", cfg.OutboxLease, err)
	}
	cfg, err = ParseConfig("serve", nil, func(k string) string { return map[string]string{"SESAME_OUTBOX_LEASE": "5s"}[k] }, io.Discard)
	if err != nil || cfg.OutboxLease != 5*time.Second {
		t.Fatalf("SESAME_OUTBOX_LEASE=5s gives %v, %v", cfg.OutboxLease, err)
	}
	if _, err := ParseConfig("serve", []string{"--outbox-lease", "0s"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Error("--outbox-lease 0s accepted")
	}
}

func TestParseConfig_DeliveryConcurrency(t *testing.T) {
	none := func(string) string { return "" }
	cfg, err := ParseConfig("serve", nil, none, io.Discard)
	if err != nil || cfg.DeliveryConcurrency != 16 {
		t.Fatalf("default delivery concurrency = %d, %v; want 16", cfg.DeliveryConcurrency, err)
	}
	cfg, err = ParseConfig("serve", nil, func(k string) string { return map[string]string{"SESAME_DELIVERY_CONCURRENCY": "64"}[k] }, io.Discard)
	if err != nil || cfg.DeliveryConcurrency != 64 {
		t.Fatalf("SESAME_DELIVERY_CONCURRENCY=64 gives %d, %v", cfg.DeliveryConcurrency, err)
	}
	for _, bad := range []string{"0", "-1", "2000", "many"} {
		if _, err := ParseConfig("serve", []string{"--delivery-concurrency", bad}, none, io.Discard); err == nil {
			t.Errorf("--delivery-concurrency %s accepted", bad)
		}
	}
}

func TestParseConfig_DatabasePoolSize(t *testing.T) {
	env := map[string]string{"SESAME_DATABASE_POOL_SIZE": "12"}
	for _, c := range []struct {
		cmd  string
		args []string
		env  map[string]string
		want int
	}{
		{"serve", nil, nil, 0},
		{"serve", nil, env, 12},
		{"serve", []string{"--database-pool-size", "5"}, env, 5},
		{"migrate", []string{"--database-pool-size", "2"}, nil, 2},
		{"blocks", nil, env, 12},
	} {
		cfg, err := ParseConfig(c.cmd, c.args, func(k string) string { return c.env[k] }, io.Discard)
		if err != nil {
			t.Fatalf("%s %v: %v", c.cmd, c.args, err)
		}
		if cfg.DatabasePoolSize != c.want {
			t.Errorf("%s %v with %v: pool size %d, want %d", c.cmd, c.args, c.env, cfg.DatabasePoolSize, c.want)
		}
	}
	for _, bad := range []string{"-1", "many", "1.5"} {
		if _, err := ParseConfig("serve", []string{"--database-pool-size", bad}, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("--database-pool-size %s accepted", bad)
		}
	}
}

func TestRedactDSN_HidesEveryPassword(t *testing.T) {
	for in, want := range map[string]string{
		"sqlite:./sesame.db":                                        "sqlite:./sesame.db",
		"postgres://sesame@db:5432/sesame":                          "postgres://sesame@db:5432/sesame",
		"postgres://sesame:s3cret@db:5432/sesame?sslmode=require":   "postgres://sesame:xxxxx@db:5432/sesame?sslmode=require",
		"postgresql://db/sesame?password=s3cret&sslpassword=s3cret": "postgresql://db/sesame?password=xxxxx&sslpassword=xxxxx",
		"postgres://sesame:s3cr#et@db/sesame":                       "postgres://(unparsable URL hidden)",
	} {
		if got := redactDSN(in); got != want {
			t.Errorf("redactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseConfig_KeySettings(t *testing.T) {
	none := func(string) string { return "" }
	cfg, err := ParseConfig("serve", nil, none, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KeyRotationInterval != 0 || cfg.KeyReloadInterval != 20*time.Second {
		t.Errorf("defaults: rotation %v, reload %v; want off and 20s", cfg.KeyRotationInterval, cfg.KeyReloadInterval)
	}
	env := map[string]string{"SESAME_KEY_ROTATION_INTERVAL": "720h", "SESAME_KEY_RELOAD_INTERVAL": "5s"}
	cfg, err = ParseConfig("serve", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KeyRotationInterval != 720*time.Hour || cfg.KeyReloadInterval != 5*time.Second {
		t.Errorf("from the environment: rotation %v, reload %v", cfg.KeyRotationInterval, cfg.KeyReloadInterval)
	}
	cfg, err = ParseConfig("serve", []string{"--key-rotation-interval", "0", "--key-reload-interval", "1s"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KeyRotationInterval != 0 || cfg.KeyReloadInterval != time.Second {
		t.Errorf("flags over the environment: rotation %v, reload %v; want off and 1s", cfg.KeyRotationInterval, cfg.KeyReloadInterval)
	}
	for _, bad := range [][]string{
		{"--key-rotation-interval", "-1h"},
		{"--key-rotation-interval", "monthly"},
		{"--key-reload-interval", "0"},
	} {
		if _, err := ParseConfig("serve", bad, none, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestParseConfig_PprofListen(t *testing.T) {
	cfg, err := ParseConfig("serve", []string{"--pprof-listen", "127.0.0.1:6060"}, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.PprofListen != "127.0.0.1:6060" {
		t.Fatalf("--pprof-listen: %q, %v", cfg.PprofListen, err)
	}
	if cfg, _ := ParseConfig("serve", nil, func(string) string { return "" }, io.Discard); cfg.PprofListen != "" {
		t.Errorf("the profiler is on by default: %q", cfg.PprofListen)
	}
}

func TestParseConfig_LogRetention(t *testing.T) {
	cfg, err := ParseConfig("serve", nil, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.LogRetention != 30*24*time.Hour {
		t.Fatalf("default log retention = %v, %v; want 30 days", cfg.LogRetention, err)
	}
	cfg, err = ParseConfig("serve", nil, func(k string) string { return map[string]string{"SESAME_LOG_RETENTION": "240h"}[k] }, io.Discard)
	if err != nil || cfg.LogRetention != 10*24*time.Hour {
		t.Fatalf("SESAME_LOG_RETENTION=240h gives %v, %v", cfg.LogRetention, err)
	}
	cfg, err = ParseConfig("serve", []string{"--log-retention", "48h"}, func(k string) string { return map[string]string{"SESAME_LOG_RETENTION": "240h"}[k] }, io.Discard)
	if err != nil || cfg.LogRetention != 48*time.Hour {
		t.Fatalf("--log-retention 48h gives %v, %v", cfg.LogRetention, err)
	}
	for _, bad := range []string{"0", "-1h", "30d"} {
		if _, err := ParseConfig("serve", []string{"--log-retention", bad}, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("--log-retention %s accepted", bad)
		}
	}
}
