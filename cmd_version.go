package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

// versionCmd prints the version set at build time.
type versionCmd struct{ *base }

func (c *versionCmd) doc() doc {
	return doc{name: "version", summary: "print the version", noConn: true,
		about: "Prints claimsctl's version: the module version go install recorded, or the\n" +
			"commit it was built from (claimsctl --version does the same)."}
}

func (c *versionCmd) flags(*flag.FlagSet) {}

func (c *versionCmd) Run(_ context.Context, args []string) error {
	fs, err := c.parse(c, args)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("version takes no arguments, got %q", fs.Arg(0)), hint: "claimsctl version"}
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintf(c.env.stdout, "claimsctl %s\n", versionOf(version, info))
	return nil
}

// versionOf is the version to print: the one -ldflags set, else the module
// version `go install claimsctl@v1.2.3` (or, since Go 1.24, `go build` in a
// clone) recorded, else the commit the binary was built from.
func versionOf(ldflags string, info *debug.BuildInfo) string {
	if ldflags != "dev" && ldflags != "" {
		return ldflags
	}
	if info == nil {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision == "" {
		return "dev"
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if modified == "true" {
		revision += "-dirty"
	}
	return "commit " + revision
}
