package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"claimsctl/luaapi"
	"claimsctl/streams"
)

// runCmd runs a Lua file, or with code set the line of -e CODE.
type runCmd struct {
	*base
	code string
}

func (c *runCmd) doc() doc {
	return doc{name: "run", args: "[flags] FILE.lua [ARGS]", summary: "run a lab step or any Lua script",
		about: "Runs a Lua script (a lab step, an exercise, your own) with ARGS as arg[1]...,\n" +
			"and exits 3 if one of its expect() or check() calls failed."}
}

func (c *runCmd) flags(*flag.FlagSet) {}

func (c *runCmd) Run(ctx context.Context, args []string) error {
	if c.code != "" {
		return c.runCode(ctx, args)
	}
	fs, err := c.parse(c, args)
	if err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return &usageError{msg: "run needs a Lua file", hint: "claimsctl run scripts/step07.lua"}
	}
	file := fs.Arg(0)
	if _, err := os.Stat(file); err != nil {
		return &usageError{msg: fmt.Sprintf("cannot read %s: %v", file, errors.Unwrap(err)), hint: "ls scripts/"}
	}
	return c.with(ctx, fs.Args()[1:], func(rt *luaapi.Runtime) error { return rt.DoFile(ctx, file) })
}

// runCode runs -e CODE: its value is printed, as in the REPL.
func (c *runCmd) runCode(ctx context.Context, args []string) error {
	return c.with(ctx, args, func(rt *luaapi.Runtime) error {
		out, err := rt.EvalNamed(ctx, c.code, "-e")
		if err == nil && out != "" {
			fmt.Fprintln(c.env.stdout, out)
		}
		if rt.Incomplete(err) {
			return rt.DoString(ctx, c.code, "-e")
		}
		return err
	})
}

func (c *runCmd) with(ctx context.Context, args []string, body func(*luaapi.Runtime) error) error {
	backend, store, err := c.connect(ctx, c.env.stderr, streams.Brief)
	if err != nil {
		return err
	}
	defer backend.Close()
	rt := luaapi.New(luaapi.Config{Store: store, Out: c.env.stdout, Args: args, Backend: backend.Description,
		TTY: c.env.stdoutTTY, Color: c.env.color(), Width: c.env.terminalWidth, Host: c.env.hostname})
	defer rt.Close()
	if err := body(rt); err != nil {
		return err
	}
	if n := rt.Failed(); n > 0 {
		return &expectationsFailed{n: n}
	}
	return nil
}
