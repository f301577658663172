package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"claimsctl/luaapi/grade"
	"claimsctl/streams"
)

// checkCmd grades exercise scripts (luaapi/grade).
type checkCmd struct {
	*base
	verbose bool
	timeout time.Duration
}

// exercisesDir is what check grades when given no files.
const exercisesDir = "scripts/exercises"

func (c *checkCmd) doc() doc {
	return doc{name: "check", args: "[flags] [FILE.lua|DIR ...]", summary: "grade exercises: a pass/fail table, exit 3 on any failure",
		about: "Grades exercises: runs each file (a DIR stands for the .lua files in it;\n" +
			"default " + exercisesDir + ") on a clean keyspace of its own, prints a pass/fail\n" +
			"table of their check() calls, and exits 3 if any failed."}
}

func (c *checkCmd) flags(fs *flag.FlagSet) {
	fs.BoolVar(&c.verbose, "v", false, "show each exercise's output")
	fs.DurationVar(&c.timeout, "timeout", grade.DefaultTimeout, "stop an exercise still running after `D`")
}

func (c *checkCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(c, args)
	if err != nil {
		return err
	}
	targets := fs.Args()
	if len(targets) == 0 {
		targets = []string{exercisesDir}
	}
	files, err := grade.Files(targets)
	if err != nil {
		return &usageError{msg: err.Error(), hint: "claimsctl check " + exercisesDir}
	}
	backend, store, err := c.connect(ctx, c.env.stderr, streams.Brief)
	if err != nil {
		return err
	}
	defer backend.Close()
	res, err := grade.Run(ctx, grade.Options{
		Store: store, Backend: backend.Description, Out: c.env.stdout, Err: c.env.stderr,
		Verbose: c.verbose, Timeout: c.timeout, Files: files,
	})
	switch {
	case err != nil:
		return err
	case res.Failed > 0:
		return &expectationsFailed{n: res.Failed, what: "check"}
	case res.Passed == 0:
		return fmt.Errorf("no check() ran in %s", strings.Join(targets, " "))
	}
	return nil
}
