package app

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sesame-id/sesame/internal/eventlog"
	"github.com/sesame-id/sesame/internal/users"
)

// Blocks runs "sesame blocks list" and "sesame blocks clear IDENTIFIER".
func Blocks(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	switch {
	case len(args) == 1 && args[0] == "list":
		blocks, err := st.Blocks(ctx, time.Now())
		if err != nil {
			return err
		}
		if len(blocks) == 0 {
			fmt.Fprintln(stdout, "no blocks in force")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "IDENTIFIER\tCONNECTION\tIP\tSINCE\tUNTIL")
		for _, b := range blocks {
			id, conn, ip := b.Identifier, b.Connection, b.IP
			switch {
			case ip == "":
				ip = "(any: account lockout)"
			case id == "":
				id, conn = "(any: suspicious address)", "(any)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", id, conn, ip,
				b.CreatedAt.UTC().Format(time.RFC3339), b.ExpiresAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	case len(args) == 2 && args[0] == "clear":
		id := users.NormalizeIdentifier(args[1])
		n, err := st.ClearBlocks(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cleared %d block(s) and the failure counts of %s\n", n, id)
		if n > 0 {
			e := eventlog.BlockReleased(eventlog.Caller{}, id, n, "sesame blocks clear")
			if err := eventlog.Stamp(&e, time.Now()); err != nil {
				return err
			}
			if err := st.AddEvents(ctx, e); err != nil {
				return fmt.Errorf("the blocks are cleared, but the tenant log did not record it: %w", err)
			}
		}
		return nil
	default:
		return fmt.Errorf("usage: sesame blocks list | sesame blocks clear IDENTIFIER")
	}
}
