// Command sesame is the Sesame identity server and its operator tools.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sesame-id/sesame/internal/app"
)

// version is set at build time with -ldflags "-X main.version=…"
// (scripts/build.sh does with $VERSION); else versionLine reads the build
// info.
var version = "dev"

const usage = `Sesame — a passwordless identity server that speaks Auth0's API.

Usage:
  sesame serve [flags]     run the server (embedded SQLite in ./sesame.db by default;
                           --database postgres://… for PostgreSQL)
  sesame migrate [flags]   apply database migrations and exit
  sesame blocks list [--database D]              list brute-force blocks in force
  sesame blocks clear IDENTIFIER [--database D]  lift the blocks of an address, number or IP
  sesame keys list [--database D]                list the signing keys (never their private part)
  sesame keys rotate [--alg RS256|ES256] [--database D]  make a new signing key current
  sesame tenant export [--format yaml|json] [--output DIR|FILE] [--database D]
                           write the stored tenant in the Auth0 Deploy CLI layout
                           (standard output by default), secrets as ##PLACEHOLDERS##
  sesame tenant import FILE [--database D]       import a tenant file (as serve --tenant)
  sesame config check [serve flags]   check the settings and the tenant file, print
                           the effective settings (secrets redacted); starts nothing
  sesame config docs [--write FILE]   the configuration reference (docs/CONFIGURATION.md)
  sesame secrets generate [--output FILE]   a new key set for code HMACs and queued
                           mail (mode 0600; standard output by default); given an
                           existing FILE, a new current key before its keys (rotation)
  sesame healthcheck [--url URL]   exit 0 when the local server answers GET /healthz
                           (for a container HEALTHCHECK; address from SESAME_LISTEN)
  sesame version           print the version, the VCS revision and the Go version

Run "sesame serve -h" for the flags; every flag also reads SESAME_<NAME>.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "sesame:", err)
		}
		os.Exit(2)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve", "migrate":
		cfg, err := app.ParseConfig(cmd, rest, getenv, stderr)
		if err != nil {
			if errors.Is(err, app.ErrHelp) {
				return nil
			}
			return err
		}
		logger := cfg.NewLogger(stderr)
		if cmd == "migrate" {
			return app.Migrate(ctx, cfg, logger)
		}
		return app.Serve(ctx, cfg, logger, stdout, version)
	case "blocks", "keys", "tenant":
		var sub []string
		for len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			sub, rest = append(sub, rest[0]), rest[1:]
		}
		cfg, err := app.ParseConfig(cmd, rest, getenv, stderr)
		if err != nil {
			if errors.Is(err, app.ErrHelp) {
				return nil
			}
			return err
		}
		switch cmd {
		case "keys":
			return app.Keys(ctx, cfg, sub, stdout)
		case "tenant":
			return app.TenantCommand(ctx, cfg, sub, getenv, stdout, stderr)
		}
		return app.Blocks(ctx, cfg, sub, stdout)
	case "version", "--version", "-v":
		printVersion(stdout)
		return nil
	case "healthcheck":
		return healthcheck(ctx, rest, getenv, stderr)
	case "config":
		return app.ConfigCommand(ctx, rest, getenv, stdout, stderr)
	case "secrets":
		return app.SecretsCommand(rest, stdout, stderr, time.Now())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "sesame: unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
}
