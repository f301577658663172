package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"claimsctl/luaapi"
	"claimsctl/luaapi/grade"
	"claimsctl/streams/quota"
	"claimsctl/streams/redisconn"
)

// runCmd runs a Lua file, or with code set the line of -e CODE.
type runCmd struct {
	*base
	code    string
	file    string // the script run
	sandbox sandboxFlags
}

func (c *runCmd) doc() doc {
	return doc{name: "run", args: "[flags] FILE.lua [ARGS]", summary: "run a lab step or any Lua script",
		about: "Runs a Lua script (a lab step, an exercise, your own) with ARGS as arg[1]...,\n" +
			"and exits 3 if one of its expect() or check() calls failed. It may do anything\n" +
			"you may: --sandbox runs it with the limits claimsctl check grades hand-ins with."}
}

func (c *runCmd) flags(fs *flag.FlagSet) {
	c.sandbox.wall = grade.DefaultTimeout
	c.sandbox.register(fs)
	registerSeed(fs, &c.seed)
}

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
	file, builtin, err := labPath(c.env.cacheDir, fs.Arg(0))
	if err != nil {
		return err
	}
	if builtin {
		wd, _ := os.Getwd()
		fmt.Fprintf(c.env.stderr, "claimsctl: no %s in this folder: running the lab's copy built into claimsctl; the files it writes (data/) land in %s\n", fs.Arg(0), wd)
	}
	c.file = file
	if _, err := os.Stat(file); err != nil {
		return &usageError{msg: fmt.Sprintf("cannot read %s: %v", file, errors.Unwrap(err)), hint: "ls scripts/"}
	}
	if err := c.sandbox.check("claimsctl run --sandbox " + file); err != nil {
		return err
	}
	if c.sandbox.on && !c.insideSandbox() {
		return c.sandboxed(ctx, "run", append([]string{file}, fs.Args()[1:]...), c.sandbox.limits(), c.sandbox.wall, c.sandbox.quota.limits(), redisconn.Brief)
	}
	return c.with(ctx, fs.Args()[1:], func(ctx context.Context, rt *luaapi.Runtime) error {
		if err := rt.DoFile(ctx, file); err != nil {
			return err
		}
		if escapes := rt.Escapes(); len(escapes) > 0 {
			return fmt.Errorf("the script tried to leave the sandbox: %s", escapes[0])
		}
		return nil
	})
}

// runCode runs -e CODE: its value is printed, as in the REPL.
func (c *runCmd) runCode(ctx context.Context, args []string) error {
	return c.with(ctx, args, func(ctx context.Context, rt *luaapi.Runtime) error {
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

// with runs body on a Runtime: in the Lua sandbox when this is the
// sandboxed child (the script's folder, its lib/ and its parent's lib/, as
// check has it).
func (c *runCmd) with(ctx context.Context, args []string, body func(context.Context, *luaapi.Runtime) error) error {
	backend, store, err := c.connect(ctx, c.env.stderr, redisconn.Brief)
	if err != nil {
		return err
	}
	defer backend.Close()
	var guard *quota.Guard
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	cfg := luaapi.Config{Store: store, Out: c.env.stdout, Err: c.env.stderr, Args: args, Backend: backend.Description,
		TTY: c.env.stdoutTTY, Color: c.env.color(), Width: c.env.terminalWidth,
		Launcher: c.launcher(backend), ConsumerMemory: c.sandbox.memoryMB << 20, Host: c.env.hostname,
		Ephemeral: backend.Embedded != nil}
	if c.sandbox.on && c.insideSandbox() {
		dir := filepath.Dir(c.file)
		tmp, err := os.MkdirTemp("", "run-")
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		defer os.RemoveAll(tmp)
		cfg.Sandbox = &luaapi.Sandbox{Dir: dir, Lib: []string{filepath.Join(dir, "..", "lib")}, TempDir: tmp}
		if guard, err = c.sandbox.guardStore(ctx, store, stop); err != nil {
			return err
		}
	}
	rt := luaapi.New(cfg)
	defer rt.Close()
	err = body(ctx, rt)
	if guard != nil && guard.Err() != nil {
		return guard.Err()
	}
	if err != nil {
		return err
	}
	if n := rt.Failed(); n > 0 {
		return &expectationsFailed{n: n}
	}
	return nil
}
