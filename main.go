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
	"math"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"claimsctl/luaapi"
	"claimsctl/luaapi/grade"
	"claimsctl/repl"
	"claimsctl/streams"
	"claimsctl/streams/claims"

	"golang.org/x/sys/unix"
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

// applyLimits sets the limits of luaapi.LimitsEnv on this process. The Go
// runtime does not know RLIMIT_DATA: a soft memory limit below it makes
// the collector work before the ceiling instead of growing the heap to
// twice what is live.
func applyLimits(spec string) error {
	l, err := luaapi.ParseLimits(spec)
	if err != nil {
		return err
	}
	if l.Memory > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: uint64(l.Memory), Max: uint64(l.Memory)}); err != nil {
			return fmt.Errorf("limit memory to %s: %w", luaapi.MB(l.Memory), err)
		}
		debug.SetMemoryLimit(l.Memory / 2)
	}
	if l.CPU > 0 {
		secs := uint64(math.Ceil(l.CPU.Seconds()))
		if err := unix.Setrlimit(unix.RLIMIT_CPU, &unix.Rlimit{Cur: secs, Max: secs}); err != nil {
			return fmt.Errorf("limit CPU time to %s: %w", l.CPU, err)
		}
	}
	return nil
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

// childExit is the exit code of a sandboxed child (run --sandbox), which
// becomes this process's: the child has said what went wrong itself.
type childExit int

func (e childExit) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

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

func exitCode(err error) int {
	var (
		ue   *usageError
		ef   *expectationsFailed
		lerr *luaapi.Error
		ce   childExit
	)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ce):
		return int(ce)
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
	// connected is how connect reached Redis, and partitions the
	// keyspace's count, for child processes.
	connected  streams.ConnectOptions
	partitions int
}

// subcommands in the order claimsctl --help lists them.
func (b *base) subcommands() []subcommand {
	return []subcommand{&replCmd{base: b}, &runCmd{base: b}, &checkCmd{base: b}, &workerCmd{base: b},
		&dashboardCmd{base: b}, &reportCmd{base: b}, &benchCmd{base: b}, &serveCmd{base: b}, &versionCmd{base: b}}
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
	case len(rest) > 0 && rest[0] == grade.ChildCommand:
		cmd, rest = &gradeFileCmd{base: b}, rest[1:] // check's child; not in the list

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
	url, cluster, prefix, tlsCA    string
	embedded, tlsInsecure, durable bool
	partitions                     int
}

// register binds the flags to c, with c's values as defaults: flags given
// before the subcommand stay unless repeated after it.
func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "redis", c.url, "connect to `URL`, redis://[user:password@]host:port[/db]\n"+
		"(rediss:// for TLS); default REDIS_URL, or the lab's\nREDIS_HOST, REDIS_PORT and REDIS_PASSWORD")
	fs.StringVar(&c.cluster, "cluster", c.cluster, "connect to the Redis Cluster of seed nodes `ADDRS`,\n"+
		"host:port,host:port... (the first may be a redis://\n"+
		"URL with a password); default REDIS_CLUSTER")
	fs.IntVar(&c.partitions, "partitions", c.partitions, "spread claims over `N` event streams by a hash of\n"+
		"the claim id (default: the keyspace's count, else 1)")
	fs.BoolVar(&c.durable, "durable", c.durable, "an append counts only once a replica has it (WAIT 1):\n"+
		"a failover then cannot lose it")
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
	opts.Cluster = b.conn.cluster
	switch {
	case opts.URL != "" && opts.Cluster != "":
		return nil, nil, &usageError{msg: "give --redis or --cluster, not both", hint: "claimsctl --cluster 127.0.0.1:7000,127.0.0.1:7001"}
	case opts.URL == "" && opts.Cluster == "":
		opts.URL, opts.Cluster = b.env.getenv("REDIS_URL"), b.env.getenv("REDIS_CLUSTER")
		if opts.URL != "" && opts.Cluster != "" {
			opts.URL = "" // a cluster is asked for by name: REDIS_URL may be a default of the shell
		}
	}
	if opts.URL != "" && !strings.HasPrefix(opts.URL, "redis://") && !strings.HasPrefix(opts.URL, "rediss://") {
		return nil, nil, &usageError{msg: "the Redis URL must start with redis:// or rediss://", hint: "claimsctl --redis redis://localhost:6379"}
	}
	if b.conn.partitions < 0 || b.conn.partitions > streams.MaxPartitions {
		return nil, nil, &usageError{msg: fmt.Sprintf("--partitions must be from 1 to %d, got %d", streams.MaxPartitions, b.conn.partitions), hint: "claimsctl --partitions 6"}
	}
	if b.conn.embedded && opts.Cluster != "" {
		return nil, nil, &usageError{msg: "--embedded and --cluster exclude each other: the embedded server is one node", hint: "claimsctl serve --cluster 3"}
	}
	if given := b.conn.tlsFlags(); len(given) > 0 && !strings.HasPrefix(opts.URL, "rediss://") && !strings.HasPrefix(opts.Cluster, "rediss://") {
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
	b.connected = opts
	so := streams.Options{Prefix: b.conn.prefix, CountLag: backend.Miniredis, Partitions: b.conn.partitions}
	if b.conn.durable {
		so.Durable = 1
	}
	store, err := streams.Open(ctx, backend.Client, so)
	if err != nil {
		backend.Close()
		if errors.Is(err, streams.ErrLayout) {
			return nil, nil, &usageError{msg: err.Error(), hint: "claimsctl --partitions N (or leave it out)"}
		}
		return nil, nil, err
	}
	b.partitions = store.Keys().Partitions()
	line := backend.Description
	if k := store.Keys(); k.Partitioned() {
		line += fmt.Sprintf("; %s (%s", claims.Plural(int64(k.Partitions()), "partition", "partitions"), k.Partition(0).Events())
		if k.Partitions() > 1 {
			line += " …"
		}
		line += ")"
	}
	fmt.Fprintf(banner, "connected to %s\n", line)
	return backend, store, nil
}

// launcher starts this binary again as a child process (spawn, check),
// connected where this process is: the connection goes in the child's
// environment, never on its command line, which ps shows to everyone. The
// embedded server is reached on its loopback port. Without a known
// executable (tests in-process) it is nil.
func (b *base) launcher(backend *streams.Backend) *luaapi.Launcher {
	if b.env.executable == "" {
		return nil
	}
	var env []string
	for _, kv := range b.env.environ {
		if !strings.HasPrefix(kv, "REDIS_") && !strings.HasPrefix(kv, luaapi.ReadyEnv+"=") {
			env = append(env, kv)
		}
	}
	o := b.connected
	switch {
	case backend.Embedded != nil:
		env = append(env, "REDIS_URL=redis://"+backend.Embedded.Addr())
	case o.Cluster != "":
		env = append(env, "REDIS_CLUSTER="+o.Cluster)
		if o.Password != "" {
			env = append(env, "REDIS_PASSWORD="+o.Password)
		}
	case o.URL != "":
		env = append(env, "REDIS_URL="+o.URL)
	case o.Host != "" || o.Port != "":
		env = append(env, "REDIS_HOST="+o.Host, "REDIS_PORT="+o.Port, "REDIS_PASSWORD="+o.Password)
	default:
		u := url.URL{Scheme: "redis", Host: "localhost:6379"}
		if o.Password != "" {
			u.User = url.UserPassword("", o.Password)
		}
		env = append(env, "REDIS_URL="+u.String())
	}
	// The TLS settings are no secret: they go as flags.
	var args []string
	if b.conn.tlsCA != "" {
		ca, err := filepath.Abs(b.conn.tlsCA)
		if err != nil {
			ca = b.conn.tlsCA
		}
		args = append(args, "--tls-ca", ca)
	}
	if b.conn.tlsInsecure {
		args = append(args, "--tls-insecure")
	}
	if b.partitions > 1 {
		args = append(args, "--partitions", strconv.Itoa(b.partitions))
	}
	if b.conn.durable {
		args = append(args, "--durable")
	}
	return &luaapi.Launcher{Path: b.env.executable, Args: args, Env: env}
}

// sandboxFlags are run's and the REPL's --sandbox and --memory.
type sandboxFlags struct {
	on       bool
	memoryMB int64
	wall     time.Duration // how long a sandboxed session may last (0: no limit)
}

// sandboxCPU is the CPU time a --sandbox session may use, as check allows
// a hand-in.
const sandboxCPU = luaapi.DefaultCPU

func (s *sandboxFlags) register(fs *flag.FlagSet) {
	limits := "at most --memory and " + sandboxCPU.String() + " of CPU time"
	if s.wall > 0 {
		limits += ",\nstopped after " + s.wall.String()
	}
	fs.BoolVar(&s.on, "sandbox", false, "run as claimsctl check grades a hand-in: in a process\n"+
		"of its own, with no os.execute, files written only in a\n"+
		"temp folder, Lua loaded only from the script's folder,\n"+limits)
	fs.Int64Var(&s.memoryMB, "memory", luaapi.DefaultMemory>>20, "stop a spawn()ed consumer (with --sandbox, the whole\n"+
		"session) that uses more than `MB` megabytes")
}

func (s *sandboxFlags) check(hint string) error {
	if s.memoryMB <= 0 {
		return &usageError{msg: fmt.Sprintf("--memory must be above 0, got %d", s.memoryMB), hint: hint}
	}
	return nil
}

// limits are the sandbox's, for its child process.
func (s *sandboxFlags) limits() luaapi.Limits {
	return luaapi.Limits{Memory: s.memoryMB << 20, CPU: sandboxCPU}
}

// insideSandbox reports whether this process is the child that sandboxed
// started: it runs under the limits, in the Lua sandbox.
func (b *base) insideSandbox() bool { return b.env.getenv(luaapi.LimitsEnv) != "" }

// sandboxed runs the subcommand cmd with --sandbox and its positional
// arguments again in a child process under limits, on this terminal,
// connected where this process connects, and waits for it. Its temp
// folder is removed afterwards, whatever became of it.
func (b *base) sandboxed(ctx context.Context, cmd string, positional []string, limits luaapi.Limits, wall time.Duration, life streams.Lifetime) error {
	backend, _, err := b.connect(ctx, io.Discard, life) // the child says where it is connected
	if err != nil {
		return err
	}
	defer backend.Close()
	launcher := b.launcher(backend)
	if launcher == nil {
		return errors.New("--sandbox starts claimsctl again, and cannot find its executable")
	}
	tmp, err := os.MkdirTemp("", "claimsctl-sandbox-")
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer os.RemoveAll(tmp)
	// The terminal's Ctrl-C reaches the child too, which decides what it
	// means; this process waits for it.
	ctrlC := make(chan os.Signal, 1)
	signal.Notify(ctrlC, os.Interrupt)
	defer signal.Stop(ctrlC)
	child, err := launcher.Start(luaapi.ChildOptions{
		Args:   append([]string{cmd, "--sandbox", "--memory", strconv.FormatInt(limits.Memory>>20, 10), "--prefix", b.conn.prefix, "--"}, positional...),
		Limits: limits, Wall: wall, Env: []string{"TMPDIR=" + tmp},
		Stdin: b.env.stdin, Stdout: b.env.stdout, Stderr: b.env.stderr,
	})
	if err != nil {
		return err
	}
	select {
	case <-child.Done():
	case <-ctx.Done():
		child.Stop()
	}
	var ce *luaapi.ChildError
	if err := child.Err(); errors.As(err, &ce) && ce.Limit == "" && ce.ExitCode > 0 {
		return childExit(ce.ExitCode)
	} else if err != nil {
		return err
	}
	return nil
}
