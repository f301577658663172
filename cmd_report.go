package main

import (
	"claimsctl/streams/redisconn"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// reportCmd prints or writes the analytics report.
type reportCmd struct {
	*base
	out string
}

func (c *reportCmd) doc() doc {
	return doc{name: "report", args: "[flags]", summary: "print the analytics report (JSON), or write it with -o FILE",
		about: "Prints the analytics report of every claim as JSON, or writes it to a file."}
}

func (c *reportCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.out, "o", "", "write the report to `FILE` instead of printing it\n(the lab's is data/claims-analytics-report.json)")
}

func (c *reportCmd) Run(ctx context.Context, args []string) error {
	if _, err := c.parse(c, args); err != nil {
		return err
	}
	backend, store, err := c.connect(ctx, c.env.stderr, redisconn.Brief)
	if err != nil {
		return err
	}
	defer backend.Close()
	rep, err := store.Report(ctx)
	if err != nil {
		return err
	}
	raw, err := rep.JSON()
	if err != nil {
		return err
	}
	if c.out == "" {
		_, err = c.env.stdout.Write(raw)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.WriteFile(c.out, raw, 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(c.env.stderr, "report of %d claims written to %s\n", rep.Claims, c.out)
	return nil
}
