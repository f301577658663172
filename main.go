// Command claimsctl is the Redis Streams claims lab as one tool: an event
// store on Redis Streams, the claims domain, and Lua scripts and a REPL to
// drive them.
package main

import (
	"context"
	"crypto/x509"
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

	"claimsctl/luaapi"
	"claimsctl/repl"
	"claimsctl/streams"
	"claimsctl/streams/claims"

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
	host, _ := os.Hostname() // "" leaves default consumer names without a host
	env := environment{
		getenv: os.Getenv, hostname: host,
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
	stdin               io.Reader
	stdout, stderr      io.Writer
	stdinTTY, stdoutTTY bool
	stdoutWidth         func() int // the terminal's columns now (it can be resized)
	historyFile         string
	hostname            string // this machine's, for workers' default consumer names
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
}

// subcommands in the order claimsctl --help lists them.
func (b *base) subcommands() []subcommand {
	return []subcommand{&replCmd{base: b}, &runCmd{base: b}, &checkCmd{base: b}, &workerCmd{base: b},
		&dashboardCmd{base: b}, &reportCmd{base: b}, &serveCmd{base: b}, &versionCmd{base: b}}
}

func dispatch(args []string, env environment) error {
	b := &base{env: env}
	cmds := b.subcommands()
	fs := newFlagSet("claimsctl")
	code := registerCode(fs)
	b.conn.register(fs)
	if err := parseFlags(fs, args, env.stdout, func(w io.Writer) { printOverview(w, cmds) }, "claimsctl --help"); err != nil {
		return err
	}
	rest := fs.Args()
	var cmd subcommand = &replCmd{base: b} // the default
	switch {
	case *code != "":
		cmd = &runCmd{base: b, code: *code}
	case len(rest) > 0 && rest[0] == "help":
		return b.help(rest[1:], cmds)
	case len(rest) > 0:
		i := slices.IndexFunc(cmds, func(c subcommand) bool { return c.doc().name == rest[0] })
		if i < 0 {
			return unknownCommand(rest[0], cmds)
		}
		cmd, rest = cmds[i], rest[1:]
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

// registerCode registers -e, the one flag that only comes before a
// subcommand.
func registerCode(fs *flag.FlagSet) *string {
	return fs.String("e", "", "run `CODE`, a line of Lua, instead of the REPL\n(ARGS after it are its table arg)")
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

// connFlags are the connection flags every subcommand that talks to Redis
// accepts.
type connFlags struct {
	url, prefix, tlsCA    string
	embedded, tlsInsecure bool
}

// register binds the flags to c, with c's values as defaults: flags given
// before the subcommand stay unless repeated after it.
func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "redis", c.url, "connect to `URL`, redis://[user:password@]host:port[/db]\n"+
		"(rediss:// for TLS); default REDIS_URL, or the lab's\nREDIS_HOST, REDIS_PORT and REDIS_PASSWORD")
	fs.BoolVar(&c.embedded, "embedded", c.embedded, "use an in-process Redis even if localhost:6379 answers")
	fs.StringVar(&c.prefix, "prefix", c.prefix, "prefix every key with `P` (several students on one server)")
	fs.StringVar(&c.tlsCA, "tls-ca", c.tlsCA, "trust the CA certificates of the PEM `FILE` for rediss://,\n"+
		"besides the system's")
	fs.BoolVar(&c.tlsInsecure, "tls-insecure", c.tlsInsecure, "do not verify the rediss:// server's certificate\n"+
		"(the start-up line says so)")
}

// tlsFlags are the TLS flags given, as typed: a URL that is not rediss://
// makes them a usage error.
func (c *connFlags) tlsFlags() []string {
	var given []string
	if c.tlsCA != "" {
		given = append(given, "--tls-ca "+c.tlsCA)
	}
	if c.tlsInsecure {
		given = append(given, "--tls-insecure")
	}
	return given
}

// trustedCAs are the system's certificate authorities and those of the PEM
// bundle file (--tls-ca).
func trustedCAs(file string) (*x509.CertPool, error) {
	const hint = "claimsctl --redis rediss://HOST:PORT --tls-ca ca.pem   (a file of -----BEGIN CERTIFICATE----- blocks)"
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("--tls-ca: cannot read %s: %v", file, errors.Unwrap(err)), hint: hint}
	}
	pool, err := x509.SystemCertPool()
	if err != nil { // no system roots here: the file's only
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, &usageError{msg: fmt.Sprintf("--tls-ca %s holds no PEM certificate", file), hint: hint}
	}
	return pool, nil
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

// connect resolves the connection from flags and environment and prints
// the one start-up line (never a password). life is how long the command
// runs: an embedded server's line suggests watching it only in a Session.
func (b *base) connect(ctx context.Context, banner io.Writer, life streams.Lifetime) (*streams.Backend, *streams.Store, error) {
	opts := streams.ConnectOptions{
		URL: b.conn.url, Embedded: b.conn.embedded, Lifetime: life,
		Host: b.env.getenv("REDIS_HOST"), Port: b.env.getenv("REDIS_PORT"), Password: b.env.getenv("REDIS_PASSWORD"),
	}
	if opts.URL == "" {
		opts.URL = b.env.getenv("REDIS_URL")
	}
	if opts.URL != "" && !strings.HasPrefix(opts.URL, "redis://") && !strings.HasPrefix(opts.URL, "rediss://") {
		return nil, nil, &usageError{msg: "the Redis URL must start with redis:// or rediss://", hint: "claimsctl --redis redis://localhost:6379"}
	}
	if given := b.conn.tlsFlags(); len(given) > 0 && !strings.HasPrefix(opts.URL, "rediss://") {
		return nil, nil, &usageError{msg: "TLS flags (" + strings.Join(given, ", ") + ") need a rediss:// URL",
			hint: "claimsctl --redis rediss://HOST:PORT " + strings.Join(given, " ")}
	}
	opts.InsecureSkipVerify = b.conn.tlsInsecure
	if b.conn.tlsCA != "" {
		pool, err := trustedCAs(b.conn.tlsCA)
		if err != nil {
			return nil, nil, err
		}
		opts.RootCAs = pool
	}
	backend, err := streams.Connect(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(banner, "connected to %s\n", backend.Description)
	store := streams.New(backend.Client, streams.Options{Prefix: b.conn.prefix, CountLag: backend.Miniredis})
	return backend, store, nil
}
