package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"claimsctl/luaapi"
	"claimsctl/streams"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/workers"
)

// workerCmd runs one worker in the foreground, as the lab's separate
// terminals do. SIGINT/SIGTERM stop it after its current batch; a Lua
// handler still running luaapi.ConsumerGrace later is interrupted.
type workerCmd struct {
	*base
	opts workers.Options
}

// logTime is the time stamp of a foreground worker's log lines.
const logTime = "15:04:05.000"

func (c *workerCmd) doc() doc {
	return doc{name: "worker", args: "NAME|FILE.lua [flags]", summary: "run a worker in the foreground until Ctrl-C",
		about: "Runs a worker in the foreground (" + strings.Join(workers.Names, ", ") + ",\n" +
			"or a Lua consumer file) until Ctrl-C, which stops it after its batch\n" +
			"(a Lua handle() still running " + luaapi.ConsumerGrace.String() + " later is interrupted)."}
}

func (c *workerCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.opts.Consumer, "consumer", "", "name the worker `C` in its consumer group\n(default: NAME@HOST, the same on every start, so a\nrestarted worker resumes its own pending entries)")
	fs.Int64Var(&c.opts.Count, "count", workers.DefaultCount, "read up to `N` entries at a time")
	fs.DurationVar(&c.opts.MinIdle, "min-idle", streams.DefaultMinIdle, "take over the entries that a dead consumer left\npending longer than `D`")
	fs.DurationVar(&c.opts.RecoverEvery, "recover-every", workers.DefaultRecoverEvery, "look for such idle entries every `D`")
	fs.Int64Var(&c.opts.MaxDeliveries, "max-deliveries", workers.DefaultMaxDeliveries, "move an entry to the DLQ (claims:dlq) after\n`N` failed deliveries")
	fs.BoolVar(&c.opts.Verbose, "v", false, "log a line per event (default: a line per batch)")
}

func (c *workerCmd) Run(ctx context.Context, args []string) error {
	hint := "claimsctl worker processor --consumer p1   (workers: " + strings.Join(workers.Names, ", ") + ", or a Lua consumer file)"
	// The worker name may come before or after the flags.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	fs, err := c.parse(c, args)
	if err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if strings.HasSuffix(name, ".lua") {
		if name, _, err = labPath(c.env.cacheDir, name); err != nil {
			return err
		}
	}
	switch {
	case name == "":
		return &usageError{msg: "worker needs a name", hint: hint}
	case !strings.HasSuffix(name, ".lua") && !slices.Contains(workers.Names, name):
		return &usageError{msg: fmt.Sprintf("no worker %q", name) + didYouMean(name, workers.Names), hint: hint}
	case strings.HasSuffix(name, ".lua") && !isFile(name):
		_, err := os.Stat(name)
		msg := fmt.Sprintf("cannot read %s", name)
		if err != nil {
			msg += ": " + errors.Unwrap(err).Error()
		} else {
			msg += ": it is a directory"
		}
		return &usageError{msg: msg, hint: "claimsctl worker scripts/consumers/high_value.lua"}
	case c.opts.Count < 1:
		return &usageError{msg: fmt.Sprintf("--count must be at least 1, got %d", c.opts.Count), hint: hint}
	case c.opts.MaxDeliveries < 1:
		return &usageError{msg: fmt.Sprintf("--max-deliveries must be at least 1, got %d", c.opts.MaxDeliveries), hint: hint}
	}
	backend, store, err := c.connect(ctx, c.env.stderr, redisconn.Session)
	if err != nil {
		return err
	}
	defer backend.Close()
	if backend.Embedded != nil {
		fmt.Fprintln(c.env.stderr, "warning: this worker runs on a private in-memory server of its own and will see no claims")
		fmt.Fprintln(c.env.stderr, "         from other terminals. Start `claimsctl serve` first, or point --redis at your Redis.")
	}
	if c.opts.Consumer == "" {
		c.opts.Consumer = luaapi.DefaultConsumer(strings.TrimSuffix(filepath.Base(name), ".lua"), c.env.hostname)
	}
	out := c.env.stdout
	c.opts.Log = func(line string) { fmt.Fprintln(out, line) }
	if c.env.ready == nil {
		// An operator's terminal: each line says when, so a failover or a
		// restart reads as a timeline. (A spawned child's lines are shown
		// among its parent session's output instead.)
		c.opts.Log = func(line string) { fmt.Fprintln(out, time.Now().Format(logTime), line) }
	}
	if strings.HasSuffix(name, ".lua") {
		rt := luaapi.New(luaapi.Config{Store: store, Out: c.env.stdout, Err: c.env.stderr, Backend: backend.Description, Host: c.env.hostname})
		defer rt.Close()
		if c.env.ready != nil {
			// Spawned by another claimsctl: it goes when its parent goes.
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			defer cancel()
			go func() {
				_, _ = io.Copy(io.Discard, c.env.stdin)
				cancel()
			}()
		}
		consumer, err := luaapi.LoadConsumer(ctx, rt, name)
		if err != nil {
			return err
		}
		if c.env.ready != nil {
			fmt.Fprintln(c.env.ready, consumer.Group())
			c.env.ready.Close()
		}
		// Marked running while it runs, so a lab step in another terminal
		// uses this worker instead of starting its own; its pid lets a
		// lab session kill it (chaos.kill).
		defer workers.KeepAliveProcess(ctx, store, consumer.Group(), c.opts.Consumer, os.Getpid())()
		return consumer.Run(ctx, c.opts)
	}
	handler, err := workers.New(store, name)
	if err != nil {
		return err
	}
	defer workers.KeepAliveProcess(ctx, store, handler.Group(), c.opts.Consumer, os.Getpid())()
	return workers.Run(ctx, store, handler, c.opts)
}

// isFile reports whether path names a file that exists (not a directory).
func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}
