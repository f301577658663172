// Command claimsctl is the Redis Streams claims lab as one tool: an event
// store on Redis Streams, the claims domain, and Lua scripts and a REPL to
// drive them.
//
// It is the top of the import graph: it may import every package of
// claimsctl, and none imports it.
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
	"syscall"

	"claimsctl/luaapi"
	"claimsctl/luaapi/grade"
	"claimsctl/streams/redisconn"

	"golang.org/x/term"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// A child claimsctl (a spawned consumer, a graded exercise) limits
	// itself before anything else runs.
	if spec := os.Getenv(luaapi.LimitsEnv); spec != "" {
		if err := applyLimits(spec); err != nil {
			fmt.Fprintf(os.Stderr, "claimsctl: %v\n", err)
			os.Exit(exitError)
		}
	}
	host, _ := os.Hostname() // "" leaves default consumer names without a host
	env := environment{
		getenv: os.Getenv, environ: os.Environ(), hostname: host,
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		stdinTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		stdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		stdoutWidth: func() int {
			w, _, err := term.GetSize(int(os.Stdout.Fd()))
			if err != nil {
				return 0
			}
			return w
		},
	}
	if dir, err := os.UserCacheDir(); err == nil {
		env.cacheDir = dir
	}
	if exe, err := os.Executable(); err == nil {
		env.executable = exe
	}
	if os.Getenv(luaapi.ReadyEnv) == "3" {
		env.ready = os.NewFile(3, "ready")
	}
	// Only a terminal's REPL keeps history.
	if dir, err := os.UserConfigDir(); err == nil && env.stdinTTY {
		path := filepath.Join(dir, "claimsctl", "history")
		if err := preparePrivate(path); err != nil {
			fmt.Fprintf(env.stderr, "claimsctl: no REPL history: %v\n", err)
		} else {
			env.historyFile = path
		}
	}
	os.Exit(run(os.Args[1:], env))
}

// preparePrivate makes path a file that only its owner may read, in a
// folder only its owner may enter: the REPL history holds whatever was
// typed, passwords included (redis("AUTH", …)). readline would create the
// file 0644, and replace it by a 0644 copy when it trims it: the folder's
// 0700 covers that copy. Both are set again if an older claimsctl made them
// readable.
func preparePrivate(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// environment is everything the CLI takes from the process, so tests can
// run it in-process with their own streams.
type environment struct {
	getenv              func(string) string
	environ             []string // for child processes
	stdin               io.Reader
	stdout, stderr      io.Writer
	stdinTTY, stdoutTTY bool
	stdoutWidth         func() int // the terminal's columns now (it can be resized)
	historyFile         string
	// executable is this binary, which spawn() and check start again as
	// child processes ("": they run in this process).
	executable string
	// ready, for a worker spawned by another claimsctl, is where it says
	// its group once its file is loaded (luaapi.ReadyEnv).
	ready    io.WriteCloser
	hostname string // this machine's, for workers' default consumer names
	// cacheDir is where the lab's scripts built into claimsctl are
	// unpacked when they are not on disk ("": the temp folder).
	cacheDir string
}

// terminalWidth is the width of the terminal on stdout, or 0 when stdout
// is not a terminal: piped output keeps the 80 columns tests compare.
func (e environment) terminalWidth() int {
	if !e.stdoutTTY || e.stdoutWidth == nil {
		return 0
	}
	return e.stdoutWidth()
}

// color is decided once: only on a terminal, and never with NO_COLOR set.
func (e environment) color() bool { return e.stdoutTTY && e.getenv("NO_COLOR") == "" }

func run(args []string, env environment) int {
	err := dispatch(args, env)
	code := exitCode(err)
	var ce childExit
	if err != nil && code != exitOK && !errors.As(err, &ce) {
		fmt.Fprintf(env.stderr, "claimsctl: %v\n", err)
		var ue *usageError
		if errors.As(err, &ue) && ue.hint != "" {
			fmt.Fprintf(env.stderr, "Try: %s\n", ue.hint)
		}
	}
	return code
}

// A subcommand parses its own flags (base.parse) and runs.
type subcommand interface {
	doc() doc
	// flags registers the subcommand's own flags; parse adds the
	// connection flags.
	flags(fs *flag.FlagSet)
	Run(ctx context.Context, args []string) error
}

// base is what every subcommand shares: the process, and the connection
// flags, which may also come before the subcommand's name.
type base struct {
	env  environment
	conn connFlags
	// connected is how connect reached Redis, and partitions the
	// keyspace's count, for child processes.
	connected  redisconn.ConnectOptions
	partitions int
	// seed is --seed as typed; seedable says the command takes it (the
	// REPL, run and -e), whose connect then opens a seeded store.
	seed     string
	seedable bool
}

// subcommands in the order claimsctl --help lists them.
func (b *base) subcommands() []subcommand {
	return []subcommand{&replCmd{base: b}, &runCmd{base: b}, &checkCmd{base: b}, &workerCmd{base: b},
		&dashboardCmd{base: b}, &reportCmd{base: b}, &benchCmd{base: b}, &serveCmd{base: b}, &classCmd{base: b}, &versionCmd{base: b}}
}

func dispatch(args []string, env environment) error {
	b := &base{env: env}
	cmds := b.subcommands()
	fs := newFlagSet("claimsctl")
	code, showVersion := registerRoot(fs)
	registerSeed(fs, &b.seed)
	b.conn.register(fs)
	if err := parseFlags(fs, args, env.stdout, func(w io.Writer) { printOverview(w, cmds) }, "claimsctl --help"); err != nil {
		return err
	}
	rest := fs.Args()
	var cmd subcommand = &replCmd{base: b} // the default
	switch {
	case *showVersion:
		cmd = &versionCmd{base: b}
	case *code != "":
		cmd = &runCmd{base: b, code: *code}
	case len(rest) > 0 && rest[0] == "help":
		return b.help(rest[1:], cmds)
	case len(rest) > 0 && rest[0] == grade.ChildCommand:
		cmd, rest = &gradeFileCmd{base: b}, rest[1:] // check's child; not in the list

	case len(rest) > 0:
		i := slices.IndexFunc(cmds, func(c subcommand) bool { return c.doc().name == rest[0] })
		if i < 0 {
			return unknownCommand(rest[0], cmds)
		}
		cmd, rest = cmds[i], rest[1:]
	}
	switch cmd.(type) {
	case *replCmd, *runCmd:
		b.seedable = true
	default:
		if b.seed != "" {
			return &usageError{msg: "--seed is for the REPL, run and -e, not " + cmd.doc().name, hint: "claimsctl --seed 7 run scripts/step05.lua"}
		}
	}
	signals := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if _, ok := cmd.(*replCmd); ok {
		// Ctrl-C is the REPL's own business: it cancels the running chunk
		// only, while SIGTERM ends the session (workers finish their batch).
		signals = signals[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), signals...)
	defer stop()
	return cmd.Run(ctx, rest)
}

// interrupts delivers Ctrl-C (SIGINT) to the REPL as repl.Options wants
// it, until stop: one pending interrupt at most, later ones are dropped.
func interrupts() (_ <-chan struct{}, stop func()) {
	ch := make(chan struct{}, 1)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-sigs:
				select {
				case ch <- struct{}{}:
				default:
				}
			case <-done:
				return
			}
		}
	}()
	return ch, func() {
		signal.Stop(sigs)
		close(done)
	}
}

// registerRoot registers -e and --version, the flags that only come
// before a subcommand.
func registerRoot(fs *flag.FlagSet) (code *string, showVersion *bool) {
	code = fs.String("e", "", "run `CODE`, a line of Lua, instead of the REPL\n(ARGS after it are its table arg)")
	showVersion = fs.Bool("version", false, "print the version, as claimsctl version does")
	return code, showVersion
}

// help prints the overview, or one subcommand's usage.
func (b *base) help(args []string, cmds []subcommand) error {
	if len(args) == 0 {
		printOverview(b.env.stdout, cmds)
		return nil
	}
	for _, c := range cmds {
		if c.doc().name == args[0] {
			printUsage(b.env.stdout, c)
			return nil
		}
	}
	return unknownCommand(args[0], cmds)
}

// parse parses a subcommand's flags and the connection flags; --help
// prints the subcommand's usage.
func (b *base) parse(cmd subcommand, args []string) (*flag.FlagSet, error) {
	d := cmd.doc()
	fs := newFlagSet(d.name)
	cmd.flags(fs)
	if !d.noConn {
		b.conn.register(fs)
	}
	return fs, parseFlags(fs, args, b.env.stdout, func(w io.Writer) { printUsage(w, cmd) }, "claimsctl "+d.name+" --help")
}
