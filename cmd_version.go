package main

import (
	"context"
	"flag"
	"fmt"
)

// versionCmd prints the version set at build time.
type versionCmd struct{ *base }

func (c *versionCmd) doc() doc {
	return doc{name: "version", summary: "print the version", noConn: true, about: "Prints claimsctl's version."}
}

func (c *versionCmd) flags(*flag.FlagSet) {}

func (c *versionCmd) Run(_ context.Context, args []string) error {
	if _, err := c.parse(c, args); err != nil {
		return err
	}
	fmt.Fprintf(c.env.stdout, "claimsctl %s\n", version)
	return nil
}
