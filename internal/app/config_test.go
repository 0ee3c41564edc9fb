package app

import (
	"io"
	"testing"
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
