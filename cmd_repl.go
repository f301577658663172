package main

import (
	"context"
	"flag"
	"strings"

	"claimsctl/luaapi"
	"claimsctl/repl"
	"claimsctl/streams"
)

// replCmd is the interactive REPL.
type replCmd struct{ *base }

func (c *replCmd) doc() doc {
	return doc{name: "repl", args: "[flags]", summary: "the interactive Lua REPL (the default)",
		about: "Starts the interactive Lua REPL on the claims event store, which shows what\n" +
			"each command did to the streams (Ctrl-C stops a command, Ctrl-D leaves)."}
}

func (c *replCmd) flags(*flag.FlagSet) {}

// Run gets a ctx that SIGTERM cancels (ending the session, so workers
// finish their batch); Ctrl-C arrives through Interrupts instead and
// cancels the running chunk only.
func (c *replCmd) Run(ctx context.Context, args []string) error {
	if _, err := c.parse(c, args); err != nil {
		return err
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
	backend, store, err := c.connect(ctx, &banner, streams.Session)
	if err != nil {
		return err
	}
	defer backend.Close()
	rt := luaapi.New(luaapi.Config{Store: store, Out: c.env.stdout, Echo: true, Backend: backend.Description,
		TTY: c.env.stdoutTTY, Color: c.env.color(), Width: c.env.terminalWidth, Host: c.env.hostname})
	defer rt.Close()
	banner.WriteString("Lua REPL on the claims event store. help() lists the API; Ctrl-D leaves.\n")

	history := ""
	if c.env.stdinTTY {
		history = c.env.historyFile
	}
	return run(repl.Options{
		In: c.env.stdin, Out: c.env.stdout, Err: c.env.stderr,
		Interactive: c.env.stdinTTY, Color: c.env.color(), HistoryFile: history,
		Eval: rt, State: store.State, Banner: banner.String(),
		Background: rt.SetBackgroundOutput,
	})
}
