package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/sesame-id/sesame/internal/delivery"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/secrets"
	"github.com/sesame-id/sesame/internal/store"
)

// secretsHelp says how to give PostgreSQL installations their keys.
const secretsHelp = "make them with `sesame secrets generate --output /etc/sesame/secrets.json` " +
	"and start with --secrets-file /etc/sesame/secrets.json (or SESAME_SECRETS_FILE, " +
	"or the file's JSON in SESAME_SECRETS); see docs/CONFIGURATION.md, Secrets"

// SecretsBeside is the key file a SQLite database at path gets when no key
// set is configured.
func SecretsBeside(path string) string { return path + ".secrets.json" }

// loadSecrets returns the key set cfg configures: --secrets-file, or the
// JSON in SESAME_SECRETS. Without either, a SQLite database gets (and then
// keeps reading) a file of keys beside it; PostgreSQL refuses to start.
func loadSecrets(cfg Config, logger *slog.Logger, now time.Time) (*secrets.Set, error) {
	switch {
	case cfg.SecretsFile != "" && cfg.SecretsInline != "":
		return nil, errors.New("--secrets-file (SESAME_SECRETS_FILE) and SESAME_SECRETS both set: give the keys one way")
	case cfg.SecretsFile != "":
		return secrets.Load(cfg.SecretsFile)
	case cfg.SecretsInline != "":
		s, err := secrets.Parse([]byte(cfg.SecretsInline))
		if err != nil {
			return nil, fmt.Errorf("SESAME_SECRETS: %w", err)
		}
		return s, nil
	}
	path, ok := strings.CutPrefix(cfg.Database, "sqlite:")
	switch {
	case strings.HasPrefix(cfg.Database, "postgres://"), strings.HasPrefix(cfg.Database, "postgresql://"):
		return nil, errors.New("PostgreSQL needs the keys that HMAC codes and seal queued mail from outside the database, and none are configured: " + secretsHelp)
	case !ok || path == "":
		// OpenStore says what is wrong with the database's name.
		_, err := OpenStore(context.Background(), cfg)
		return nil, err
	}
	file := SecretsBeside(path)
	s, err := secrets.Load(file)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if s, err = secrets.Generate(now, nil); err != nil {
		return nil, err
	}
	switch err := s.CreateFile(file); {
	case secrets.IsExist(err): // another process made it first: use its keys
		return secrets.Load(file)
	case err != nil:
		return nil, err
	}
	logger.Warn("generated the keys that protect codes and queued mail into a file beside the database: "+
		"back it up with the database (without it, the codes and messages in flight are lost) and keep it where "+
		"the database's readers cannot read it; or give your own with --secrets-file", "file", file)
	return s, nil
}

// legacySecret is a key an earlier version kept in the database, or nil
// when the database has none (it is read, never created).
func legacySecret(ctx context.Context, st store.Store, name string) ([]byte, error) {
	v, err := st.Secret(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	return v, nil
}

// codeKeys are the keys passwordless HMACs codes with, derived from set,
// and the legacy in-database key (nil when there is none).
func codeKeys(ctx context.Context, st store.Store, set *secrets.Set) ([]passwordless.CodeKey, []byte, error) {
	derived, err := set.Derive(secrets.PurposeCodeHMAC)
	if err != nil {
		return nil, nil, err
	}
	keys := make([]passwordless.CodeKey, len(derived))
	for i, d := range derived {
		keys[i] = passwordless.CodeKey{ID: d.ID, Key: d.Key}
	}
	legacy, err := legacySecret(ctx, st, secretCodeHMAC)
	return keys, legacy, err
}

// newSealer returns the outbox Sealer: new payloads under set's current
// key, old ones under any key of set or the legacy in-database key.
func newSealer(ctx context.Context, st store.Store, set *secrets.Set) (*delivery.Sealer, error) {
	derived, err := set.Derive(secrets.PurposeOutboxSeal)
	if err != nil {
		return nil, err
	}
	keys := make([]delivery.SealKey, len(derived))
	for i, d := range derived {
		keys[i] = delivery.SealKey{ID: d.ID, Key: d.Key}
	}
	legacy, err := legacySecret(ctx, st, secretOutboxSeal)
	if err != nil {
		return nil, err
	}
	return delivery.NewKeyedSealer(keys, legacy)
}

// SecretsCommand runs `sesame secrets generate [--output PATH]`: a new key
// set on standard output, or in a new file of mode 0600, or, when the file
// exists, that file with a new current key before its keys (a rotation:
// restart the servers, and drop the old key once the codes and messages
// made under it have expired).
func SecretsCommand(args []string, stdout, stderr io.Writer, now time.Time) error {
	if len(args) == 0 || args[0] != "generate" {
		return errors.New("usage: sesame secrets generate [--output PATH]")
	}
	fs := flag.NewFlagSet("sesame secrets generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("output", "", "the key file to create, or to rotate when it exists; default: print a new key set to standard output")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *output == "" {
		s, err := secrets.Generate(now, nil)
		if err != nil {
			return err
		}
		_, err = stdout.Write(s.Marshal())
		return err
	}
	old, err := secrets.Load(*output)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s, err := secrets.Generate(now, nil)
		if err != nil {
			return err
		}
		if err := s.CreateFile(*output); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote a new key set to %s (key %s); keep it out of the database's backups and back it up beside them\n", *output, s.Current())
		return nil
	case err != nil:
		return err
	}
	s, err := old.Rotate(now)
	if err != nil {
		return err
	}
	if err := s.WriteFile(*output); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rotated %s: new codes and messages use key %s once the servers restart; keys still read: %s\n",
		*output, s.Current(), strings.Join(s.IDs()[1:], ", "))
	return nil
}
