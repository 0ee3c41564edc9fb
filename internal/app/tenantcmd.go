package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sesame-id/sesame/internal/tenant"
)

// TenantCommand runs "sesame tenant export" and "sesame tenant import FILE" on the
// database of cfg. getenv fills in the ##NAME## placeholders of an import.
// Running servers pick an import up at their next tenant reload.
func TenantCommand(ctx context.Context, cfg Config, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usage = "usage: sesame tenant export [--format yaml|json] [--output DIR|FILE] | sesame tenant import FILE"
	switch {
	case len(args) == 1 && args[0] == "export":
		return exportTenant(ctx, cfg, stdout)
	case len(args) == 2 && args[0] == "import":
		return importTenant(ctx, cfg, args[1], getenv, stdout, stderr)
	}
	return errors.New(usage)
}

// exportTenant writes the stored tenant (tenant.Export) to cfg.ExportOutput:
// standard output with the email bodies inline, a file, or a directory.
func exportTenant(ctx context.Context, cfg Config, stdout io.Writer) error {
	format, out := cfg.ExportFormat, cfg.ExportOutput
	if format != "" && format != tenant.FormatYAML && format != tenant.FormatJSON {
		return fmt.Errorf("--format %q: want yaml or json", format)
	}
	opts := tenant.ExportOptions{Format: format}
	var dir string
	switch ext := strings.ToLower(filepath.Ext(out)); {
	case out == "":
		opts.InlineBodies = true
		opts.Name = "tenant.json"
		if format != tenant.FormatJSON {
			opts.Name = "tenant.yaml"
		}
	case ext == ".yaml" || ext == ".yml" || ext == ".json":
		fileFormat := tenant.FormatYAML
		if ext == ".json" {
			fileFormat = tenant.FormatJSON
		}
		if format != "" && format != fileFormat {
			return fmt.Errorf("--format %s and --output %s disagree", format, out)
		}
		opts.Format, opts.Name, dir = fileFormat, filepath.Base(out), filepath.Dir(out)
	default:
		dir = out
	}

	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	state, err := st.Tenant(ctx)
	if err != nil {
		return fmt.Errorf("read tenant: %w", err)
	}
	files, err := tenant.Export(state, opts)
	if err != nil {
		return err
	}
	if out == "" {
		_, err := stdout.Write(files[opts.Name]) // the only file: the bodies are inline
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", p)
	}
	return nil
}

// importTenant imports a tenant file as "sesame serve --tenant FILE" does
// at start, without serving: the file is checked (its templates too), its
// objects merged into the store, and credentials it made printed once.
func importTenant(ctx context.Context, cfg Config, file string, getenv func(string) string, stdout, stderr io.Writer) error {
	f, warnings, err := tenant.LoadFile(file, getenv)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "tenant file: warning:", w)
	}
	if err != nil {
		return err
	}
	if err := checkTemplates(f.Tenant()); err != nil {
		return err
	}
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	creds, err := tenant.Import(ctx, st, f, cfg.clock()())
	if err != nil {
		return fmt.Errorf("import tenant: %w", err)
	}
	(&App{Credentials: creds}).PrintCredentials(stdout)
	fmt.Fprintf(stdout, "imported %s\n", file)
	return nil
}
