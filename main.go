// Command claimsctl is the Redis Streams claims lab as one tool: an event
// store on Redis Streams, the claims domain, and Lua scripts and a REPL to
// drive them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"claimsctl/luaapi"
	"claimsctl/luaapi/grade"
	"claimsctl/repl"
	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/embedded"

	"golang.org/x/term"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, mapped from errors in one place (exitCode).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitExpectation = 3
	exitUnreachable = 4
	exitInterrupted = 130
)

func main() {
	env := environment{
		getenv: os.Getenv,
		stdin:  os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		stdinTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		stdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
	}
	if dir, err := os.UserConfigDir(); err == nil {
		env.historyFile = filepath.Join(dir, "claimsctl", "history")
		_ = os.MkdirAll(filepath.Dir(env.historyFile), 0o755)
	}
	os.Exit(run(os.Args[1:], env))
}

// environment is everything the CLI takes from the process, so tests can
// run it in-process with their own streams.
type environment struct {
	getenv              func(string) string
	stdin               io.Reader
	stdout, stderr      io.Writer
	stdinTTY, stdoutTTY bool
	historyFile         string
}

// color is decided once: only on a terminal, and never with NO_COLOR set.
func (e environment) color() bool { return e.stdoutTTY && e.getenv("NO_COLOR") == "" }

// usageError is a command line mistake: exit 2 with a hint.
type usageError struct{ msg, hint string }

func (e *usageError) Error() string { return e.msg }

// expectationsFailed is a script that ran but whose expect() or check()
// calls failed.
type expectationsFailed struct {
	n    int
	what string // "expectation" (default) or "check"
}

func (e *expectationsFailed) Error() string {
	what := e.what
	if what == "" {
		what = "expectation"
	}
	if e.n == 1 {
		return "1 " + what + " failed"
	}
	return fmt.Sprintf("%d %ss failed", e.n, what)
}

const usage = `claimsctl: the Redis Streams claims lab (event sourcing) as one tool

Usage:
  claimsctl [flags]                     interactive REPL (Lua), the default
  claimsctl [flags] run FILE.lua [ARGS] run a lab step or any script
  claimsctl [flags] -e CODE             run a line of Lua
  claimsctl [flags] report [-o FILE]    print the analytics report (JSON)
  claimsctl [flags] dashboard [--once] [--refresh 2]  the analytics live in the terminal
  claimsctl [flags] check [FILES|DIRS]  grade exercises: a pass/fail table, exit 3 on any failure
  claimsctl [flags] worker NAME|FILE.lua [--consumer C] [--count N] [--min-idle 30s]
                                        run a worker in the foreground (processor, analytics,
                                        notifications, audit, or a Lua consumer); Ctrl-C stops it
  claimsctl serve [--port 6379]         run the embedded Redis in the foreground
  claimsctl version

Flags (also after the subcommand):
  --redis URL      redis://[user:password@]host:port[/db], rediss:// for TLS (or REDIS_URL;
                   the lab's REDIS_HOST / REDIS_PORT / REDIS_PASSWORD work too)
  --embedded       use an in-process Redis even if localhost:6379 answers
  --prefix P       prefix every key (several students on one server)

Without --redis, claimsctl uses localhost:6379 if it answers, else an embedded
in-memory Redis on a free loopback port (printed, so redis-cli -p PORT can watch).

Exit codes: 0 ok, 1 error, 2 usage, 3 failed expectations, 4 cannot reach Redis, 130 interrupted.
`

func run(args []string, env environment) int {
	err := dispatch(args, env)
	code := exitCode(err)
	if err != nil && code != exitOK {
		fmt.Fprintf(env.stderr, "claimsctl: %v\n", err)
		var ue *usageError
		if errors.As(err, &ue) && ue.hint != "" {
			fmt.Fprintf(env.stderr, "Try: %s\n", ue.hint)
		}
	}
	return code
}

func exitCode(err error) int {
	var (
		ue   *usageError
		ef   *expectationsFailed
		lerr *luaapi.Error
	)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ef):
		return exitExpectation
	case errors.Is(err, claims.ErrUnreachable):
		return exitUnreachable
	case errors.Is(err, context.Canceled), errors.Is(err, repl.ErrInterrupted), errors.As(err, &lerr) && lerr.Interrupted():
		return exitInterrupted
	}
	return exitError
}

// connFlags are the connection flags every subcommand accepts.
type connFlags struct {
	url, prefix string
	embedded    bool
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "redis", c.url, "Redis URL (redis://, rediss://)")
	fs.BoolVar(&c.embedded, "embedded", c.embedded, "use an in-process Redis")
	fs.StringVar(&c.prefix, "prefix", c.prefix, "prefix for every key")
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parse(fs *flag.FlagSet, args []string, env environment, hint string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.stdout, usage)
			return err
		}
		return &usageError{msg: err.Error(), hint: hint}
	}
	return nil
}

func dispatch(args []string, env environment) error {
	var conn connFlags
	var code string
	fs := newFlagSet("claimsctl")
	conn.register(fs)
	fs.StringVar(&code, "e", "", "run a line of Lua")
	if err := parse(fs, args, env, "claimsctl --help"); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if code != "" {
		return (&runCmd{conn: conn, env: env}).runCode(ctx, code, fs.Args())
	}
	rest := fs.Args()
	if len(rest) == 0 {
		stop() // the REPL handles Ctrl-C itself: it cancels the running chunk only
		return (&replCmd{conn: conn, env: env}).Run(nil)
	}
	switch rest[0] {
	case "run":
		return (&runCmd{conn: conn, env: env}).Run(ctx, rest[1:])
	case "repl":
		stop()
		return (&replCmd{conn: conn, env: env}).Run(rest[1:])
	case "report":
		return (&reportCmd{conn: conn, env: env}).Run(ctx, rest[1:])
	case "dashboard":
		return (&dashboardCmd{conn: conn, env: env}).Run(ctx, rest[1:])
	case "worker":
		return (&workerCmd{conn: conn, env: env}).Run(ctx, rest[1:])
	case "check":
		return (&checkCmd{conn: conn, env: env}).Run(ctx, rest[1:])
	case "serve":
		return (&serveCmd{env: env}).Run(ctx, rest[1:])
	case "version":
		fmt.Fprintf(env.stdout, "claimsctl %s\n", version)
		return nil
	case "help":
		fmt.Fprint(env.stdout, usage)
		return nil
	}
	if strings.HasSuffix(rest[0], ".lua") {
		return &usageError{msg: fmt.Sprintf("unknown command %q", rest[0]), hint: "claimsctl run " + rest[0]}
	}
	return &usageError{msg: fmt.Sprintf("unknown command %q", rest[0]), hint: "claimsctl --help"}
}

// connect resolves the connection from flags and environment and prints
// the one start-up line (never a password).
func connect(ctx context.Context, c connFlags, env environment, banner io.Writer) (*streams.Backend, *streams.Store, error) {
	opts := streams.ConnectOptions{
		URL: c.url, Embedded: c.embedded,
		Host: env.getenv("REDIS_HOST"), Port: env.getenv("REDIS_PORT"), Password: env.getenv("REDIS_PASSWORD"),
	}
	if opts.URL == "" {
		opts.URL = env.getenv("REDIS_URL")
	}
	if opts.URL != "" && !strings.HasPrefix(opts.URL, "redis://") && !strings.HasPrefix(opts.URL, "rediss://") {
		return nil, nil, &usageError{msg: "the Redis URL must start with redis:// or rediss://", hint: "claimsctl --redis redis://localhost:6379"}
	}
	backend, err := streams.Connect(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(banner, "connected to %s\n", backend.Description)
	store := streams.New(backend.Client, streams.Options{Prefix: c.prefix, CountLag: backend.Miniredis})
	return backend, store, nil
}

// runCmd runs a Lua file or a line of code.
type runCmd struct {
	conn connFlags
	env  environment
}

func (c *runCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("run")
	c.conn.register(fs)
	if err := parse(fs, args, c.env, "claimsctl run scripts/step07.lua"); err != nil {
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

func (c *runCmd) runCode(ctx context.Context, code string, args []string) error {
	return c.with(ctx, args, func(rt *luaapi.Runtime) error {
		out, err := rt.EvalNamed(ctx, code, "-e")
		if err == nil && out != "" {
			fmt.Fprintln(c.env.stdout, out)
		}
		if rt.Incomplete(err) {
			return rt.DoString(ctx, code, "-e")
		}
		return err
	})
}

func (c *runCmd) with(ctx context.Context, args []string, body func(*luaapi.Runtime) error) error {
	backend, store, err := connect(ctx, c.conn, c.env, c.env.stderr)
	if err != nil {
		return err
	}
	defer backend.Close()
	rt := luaapi.New(luaapi.Config{Store: store, Out: c.env.stdout, Args: args, Backend: backend.Description,
		TTY: c.env.stdoutTTY, Color: c.env.color()})
	defer rt.Close()
	if err := body(rt); err != nil {
		return err
	}
	if n := rt.Failed(); n > 0 {
		return &expectationsFailed{n: n}
	}
	return nil
}

// replCmd is the interactive REPL.
type replCmd struct {
	conn connFlags
	env  environment
}

// Run takes no context from dispatch: Ctrl-C is the REPL's own business
// (it cancels the running chunk only), while SIGTERM ends the session
// through ctx, so that workers still finish their batch.
func (c *replCmd) Run(args []string) error {
	ctx, stopTerm := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stopTerm()
	fs := newFlagSet("repl")
	c.conn.register(fs)
	if err := parse(fs, args, c.env, "claimsctl"); err != nil {
		return err
	}
	var banner strings.Builder
	backend, store, err := connect(ctx, c.conn, c.env, &banner)
	if err != nil {
		return err
	}
	defer backend.Close()
	rt := luaapi.New(luaapi.Config{Store: store, Out: c.env.stdout, Echo: true, Backend: backend.Description,
		TTY: c.env.stdoutTTY, Color: c.env.color()})
	defer rt.Close()
	banner.WriteString("Lua REPL on the claims event store. help() lists the API; Ctrl-D leaves.\n")

	interrupts := make(chan struct{}, 1)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	done := make(chan struct{})
	defer func() {
		signal.Stop(sigs)
		close(done)
	}()
	go func() {
		for {
			select {
			case <-sigs:
				select {
				case interrupts <- struct{}{}:
				default:
				}
			case <-done:
				return
			}
		}
	}()
	color := c.env.color()
	history := ""
	if c.env.stdinTTY {
		history = c.env.historyFile
	}
	return repl.Run(ctx, repl.Options{
		In: c.env.stdin, Out: c.env.stdout, Err: c.env.stderr,
		Interactive: c.env.stdinTTY, Color: color, HistoryFile: history,
		Eval: rt, State: store.State, Banner: banner.String(), Interrupts: interrupts,
		Background: rt.SetBackgroundOutput,
	})
}

// reportCmd prints or writes the analytics report.
type reportCmd struct {
	conn connFlags
	env  environment
}

func (c *reportCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("report")
	c.conn.register(fs)
	out := fs.String("o", "", "write the JSON report to this file")
	if err := parse(fs, args, c.env, "claimsctl report -o data/claims-analytics-report.json"); err != nil {
		return err
	}
	backend, store, err := connect(ctx, c.conn, c.env, c.env.stderr)
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
	if *out == "" {
		_, err = c.env.stdout.Write(raw)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.WriteFile(*out, raw, 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(c.env.stderr, "report of %d claims written to %s\n", rep.Claims, *out)
	return nil
}

// serveCmd runs the embedded server in the foreground, like the lab's
// docker Redis, so other terminals find it on localhost:6379.
type serveCmd struct{ env environment }

func (c *serveCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("serve")
	port := fs.Int("port", embedded.DefaultPort, "TCP port on 127.0.0.1")
	if err := parse(fs, args, c.env, "claimsctl serve --port 6379"); err != nil {
		return err
	}
	srv, err := embedded.Start(*port)
	if err != nil {
		return err
	}
	defer srv.Close()
	found := "other terminals find it on their own (localhost:6379)"
	if srv.Port() != embedded.DefaultPort {
		found = fmt.Sprintf("other terminals reach it with --redis redis://127.0.0.1:%d", srv.Port())
	}
	fmt.Fprintf(c.env.stdout, "embedded Redis (in memory) serving on %s; %s. Ctrl-C stops it.\n", srv.Addr(), found)
	<-ctx.Done()
	fmt.Fprintln(c.env.stdout, "stopped; its data is gone")
	return nil
}

// checkCmd grades exercise scripts: each runs on a clean keyspace of its
// own (a fresh key prefix, deleted afterwards) and its check() results are
// printed as one table.
type checkCmd struct {
	conn connFlags
	env  environment
}

func (c *checkCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("check")
	c.conn.register(fs)
	verbose := fs.Bool("v", false, "show each exercise's output")
	timeout := fs.Duration("timeout", grade.DefaultTimeout, "stop an exercise that runs longer (an endless loop)")
	if err := parse(fs, args, c.env, "claimsctl check scripts/exercises/solutions"); err != nil {
		return err
	}
	targets := fs.Args()
	if len(targets) == 0 {
		targets = []string{"scripts/exercises"}
	}
	files, err := grade.Files(targets)
	if err != nil {
		return &usageError{msg: err.Error(), hint: "claimsctl check scripts/exercises"}
	}
	backend, store, err := connect(ctx, c.conn, c.env, c.env.stderr)
	if err != nil {
		return err
	}
	defer backend.Close()

	res, err := grade.Run(ctx, grade.Options{
		Store: store, Backend: backend.Description, Out: c.env.stdout, Err: c.env.stderr,
		Verbose: *verbose, Timeout: *timeout, Files: files,
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

// dashboardCmd draws the analytics dashboard until Ctrl-C, which ends it
// with exit 0: stopping is how a dashboard is meant to end.
type dashboardCmd struct {
	conn connFlags
	env  environment
}

func (c *dashboardCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("dashboard")
	c.conn.register(fs)
	once := fs.Bool("once", false, "draw one frame and exit")
	refresh := fs.Float64("refresh", 2, "seconds between frames")
	width := fs.Int("width", 80, "columns")
	if err := parse(fs, args, c.env, "claimsctl dashboard --refresh 5"); err != nil {
		return err
	}
	if *refresh <= 0 {
		return &usageError{msg: fmt.Sprintf("--refresh must be above 0 seconds, got %v", *refresh), hint: "claimsctl dashboard --refresh 2"}
	}
	if *width < luaapi.MinDashboardWidth {
		return &usageError{msg: fmt.Sprintf("--width must be at least %d columns, got %d", luaapi.MinDashboardWidth, *width), hint: "claimsctl dashboard --width 80"}
	}
	backend, store, err := connect(ctx, c.conn, c.env, c.env.stderr)
	if err != nil {
		return err
	}
	defer backend.Close()
	return luaapi.RunDashboard(ctx, store, c.env.stdout, luaapi.DashboardOptions{
		Refresh: time.Duration(*refresh * float64(time.Second)),
		Once:    *once, Width: *width,
		Color: c.env.color(),
		Clear: c.env.stdoutTTY && !*once,
	})
}

// workerCmd runs one worker in the foreground, as the lab's separate
// terminals do. SIGINT/SIGTERM stop it after its current batch.
type workerCmd struct {
	conn connFlags
	env  environment
}

func (c *workerCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("worker")
	c.conn.register(fs)
	consumer := fs.String("consumer", "", "consumer name in the group (default: the worker's name and the host's pid)")
	count := fs.Int64("count", 10, "entries per read")
	minIdle := fs.Duration("min-idle", 30*time.Second, "take over entries pending this long from dead consumers")
	recoverEvery := fs.Duration("recover-every", 5*time.Second, "how often to look for idle entries to take over")
	hint := "claimsctl worker processor --consumer p1   (workers: " + strings.Join(streams.WorkerNames, ", ") + ", or a Lua consumer file)"
	// The worker name may come before or after the flags.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := parse(fs, args, c.env, hint); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if name == "" {
		return &usageError{msg: "worker needs a name", hint: hint}
	}
	if !strings.HasSuffix(name, ".lua") && !slices.Contains(streams.WorkerNames, name) {
		return &usageError{msg: fmt.Sprintf("no worker %q", name), hint: hint}
	}
	if *count < 1 {
		return &usageError{msg: fmt.Sprintf("--count must be at least 1, got %d", *count), hint: hint}
	}
	backend, store, err := connect(ctx, c.conn, c.env, c.env.stderr)
	if err != nil {
		return err
	}
	defer backend.Close()
	if backend.Embedded != nil {
		fmt.Fprintln(c.env.stderr, "warning: this worker runs on a private in-memory server of its own and will see no claims")
		fmt.Fprintln(c.env.stderr, "         from other terminals. Start `claimsctl serve` first, or point --redis at your Redis.")
	}
	var handler streams.Handler
	if strings.HasSuffix(name, ".lua") {
		rt := luaapi.New(luaapi.Config{Store: store, Out: c.env.stdout, Backend: backend.Description})
		defer rt.Close()
		if handler, err = luaapi.LoadConsumer(ctx, rt, name); err != nil {
			return err
		}
	} else if handler, err = store.NewWorker(name); err != nil {
		return err
	}
	if *consumer == "" {
		*consumer = fmt.Sprintf("%s-%d", strings.TrimSuffix(filepath.Base(name), ".lua"), os.Getpid())
	}
	out := c.env.stdout
	return store.RunWorker(ctx, handler, streams.WorkerOptions{
		Consumer: *consumer, Count: *count, MinIdle: *minIdle, RecoverEvery: *recoverEvery,
		Log: func(line string) { fmt.Fprintln(out, line) },
	})
}
