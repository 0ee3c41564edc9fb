package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/tenant"
	"github.com/sesame-id/sesame/internal/token"
)

// Keys runs "sesame keys list" and "sesame keys rotate [--alg ALG]" on the
// database of cfg. Running servers pick a rotation up at their next reload
// (--key-reload-interval). Nothing it prints holds a private key.
func Keys(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	const usage = "usage: sesame keys list | sesame keys rotate [--alg RS256|ES256]"
	if len(args) != 1 || (args[0] != "list" && args[0] != "rotate") {
		return errors.New(usage)
	}
	alg := cfg.KeyAlgorithm
	if alg == "" {
		alg = token.RS256
	}
	if !slices.Contains(token.Algorithms, alg) {
		return fmt.Errorf("--alg %q: want %s", alg, strings.Join(token.Algorithms, " or "))
	}
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	now := cfg.clock()()

	if args[0] == "list" {
		keys, err := st.SigningKeys(ctx, now)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			fmt.Fprintln(stdout, "no signing keys yet (sesame serve makes the first one)")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tALG\tCREATED\tSTATE\tPUBLISHED UNTIL")
		for _, k := range keys {
			state, until := "current", "-"
			if !k.RotatedAt.IsZero() {
				state = "rotated " + k.RotatedAt.UTC().Format(time.RFC3339)
				until = k.PublishedUntil.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.KID, k.Algorithm, k.CreatedAt.UTC().Format(time.RFC3339), state, until)
		}
		return tw.Flush()
	}

	// The key replaced must outlive every token it may have signed, under
	// the tenant as it is now.
	t, err := tenant.FromStore(ctx, st)
	if err != nil {
		return fmt.Errorf("load tenant: %w", err)
	}
	reload := cfg.KeyReloadInterval
	if reload <= 0 {
		reload = token.DefaultReloadInterval
	}
	next, replaced, err := token.Rotate(ctx, st, alg, "", now, token.PublishFor(oauth.LongestTokenLifetime(t), reload))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s key %s is current; running servers switch to it within %v\n", alg, next.KID, reload)
	if replaced.KID == "" {
		fmt.Fprintf(stdout, "there was no %s key before\n", alg)
	} else {
		fmt.Fprintf(stdout, "%s key %s stopped signing and stays in the JWKS until %s\n",
			alg, replaced.KID, replaced.PublishedUntil.UTC().Format(time.RFC3339))
	}
	return nil
}
