package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"claimsctl/luaapi"
	"claimsctl/repl"
	"claimsctl/streams/redisconn"
)

// replCmd is the interactive REPL.
type replCmd struct {
	*base
	sandbox sandboxFlags
}

func (c *replCmd) doc() doc {
	return doc{name: "repl", args: "[flags]", summary: "the interactive Lua REPL (the default)",
		about: "Starts the interactive Lua REPL on the claims event store, which shows what\n" +
			"each command did to the streams (Ctrl-C stops a command, Ctrl-D leaves).\n" +
			"--sandbox confines it as claimsctl check confines a hand-in."}
}

func (c *replCmd) flags(fs *flag.FlagSet) {
	c.sandbox.register(fs)
	registerSeed(fs, &c.seed)
}

// Run gets a ctx that SIGTERM cancels (ending the session, so workers
// finish their batch); Ctrl-C arrives through Interrupts instead and
// cancels the running chunk only.
func (c *replCmd) Run(ctx context.Context, args []string) error {
	if _, err := c.parse(c, args); err != nil {
		return err
	}
	if err := c.sandbox.check("claimsctl repl --sandbox"); err != nil {
		return err
	}
	if c.sandbox.on && !c.insideSandbox() {
		return c.sandboxed(ctx, "repl", nil, c.sandbox.limits(), 0, c.sandbox.quota.limits(), redisconn.Session)
	}
	return c.session(ctx, func(o repl.Options) error {
		ctrlC, stopCtrlC := interrupts()
		defer stopCtrlC()
		o.Interrupts = ctrlC
		return repl.Run(ctx, o)
	})
}

// session connects, opens the Lua runtime and hands run the REPL's
// options wired to them; both are closed when run returns.
func (c *replCmd) session(ctx context.Context, run func(repl.Options) error) error {
	var banner strings.Builder
	backend, store, err := c.connect(ctx, &banner, redisconn.Session)
	if err != nil {
		return err
	}
	defer backend.Close()
	cfg := luaapi.Config{Store: store, Out: c.env.stdout, Err: c.env.stderr, Echo: true, Backend: backend.Description,
		TTY: c.env.stdoutTTY, Color: c.env.color(), Width: c.env.terminalWidth,
		Launcher: c.launcher(backend), ConsumerMemory: c.sandbox.memoryMB << 20, Host: c.env.hostname}
	if c.sandbox.on && c.insideSandbox() {
		// The sandboxed child: Lua loads from the current folder.
		tmp, err := os.MkdirTemp("", "repl-")
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		defer os.RemoveAll(tmp)
		cfg.Sandbox = &luaapi.Sandbox{Dir: ".", Lib: []string{"lib"}, TempDir: tmp}
		// Past the quota every write is refused with a message saying so.
		if _, err := c.sandbox.guardStore(ctx, store, nil); err != nil {
			return err
		}
		banner.WriteString("In the sandbox: no os.execute, files written only in " + tmp + ".\n")
	}
	rt := luaapi.New(cfg)
	defer rt.Close()
	banner.WriteString("Lua REPL on the claims event store. help() lists the API; Ctrl-D leaves.\n")

	history := ""
	if c.env.stdinTTY {
		history = c.env.historyFile
	}
	// A piped session keeps stdout for values and views: its start-up
	// line and errors go to stderr, as a script runner's do.
	errs := c.env.stdout
	if !c.env.stdinTTY {
		errs = c.env.stderr
	}
	return run(repl.Options{
		In: c.env.stdin, Out: c.env.stdout, Err: c.env.stderr, Errors: errs,
		Interactive: c.env.stdinTTY, Color: c.env.color(), HistoryFile: history,
		Eval: rt, State: rt.State, Banner: banner.String(),
		Background: rt.SetBackgroundOutput,
	})
}
