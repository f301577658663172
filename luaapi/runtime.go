// Package luaapi exposes the claims event store to Lua (gopher-lua): the
// lab's primitives as plain globals (submit, consume, ack, replay, report,
// ...) and as modules for require("claims.produce") and friends.
//
// It may import luaapi/dashboard, streams, streams/workers, streams/upkeep,
// streams/faults, streams/streamview, streams/claims, streams/redisconn and
// gopher-lua; bench,
// luaapi/grade and main build on it.
package luaapi

import (
	"io"

	"claimsctl/streams"

	lua "github.com/yuin/gopher-lua"
)

// Config is what a Runtime needs from its host.
type Config struct {
	Store *streams.Store
	Out   io.Writer // print(), command summaries, trace
	Err   io.Writer // io.stderr (nil: Out)
	Args  []string  // script arguments, as the global table arg
	// Echo prints a one-line summary after each command (the REPL's
	// default; scripts print what they choose).
	Echo bool
	// Backend is the start-up line, shown by info().
	Backend string
	// TTY says Out is a terminal: dashboard() then clears the screen
	// between frames.
	TTY bool
	// Color allows ANSI colour in dashboard() (a terminal, NO_COLOR unset).
	Color bool
	// Width is how wide dashboard() draws without width=: asked each
	// time it starts, as a terminal can be resized. nil, or 0 (Out is not
	// a terminal), means dashboard.DefaultWidth.
	Width func() int
	// Sandbox, if set, confines the scripts (see Sandbox): how claimsctl
	// check runs a hand-in.
	Sandbox *Sandbox
	// Launcher, if set, runs each spawn()ed consumer in a child process
	// with ConsumerMemory bytes at most (default DefaultMemory). Without
	// it, or in a Sandbox, consumers run in this process.
	Launcher       *Launcher
	ConsumerMemory int64
	// Host is this machine's name: background workers are consumers named
	// <worker>@<Host> unless told otherwise, the same on every run.
	Host string
	// Ephemeral says the server is gone when this command ends (run or -e
	// on the in-process embedded server): server().redis_cli is then "",
	// as nothing could connect to it afterwards.
	Ephemeral bool
}

// Runtime is one Lua state bound to a store. Like an LState, it is not
// safe for concurrent use: one Runtime per goroutine.
type Runtime struct {
	L       *lua.LState
	cfg     Config
	store   *streams.Store
	out     io.Writer // cfg.Out, shared with the background workers' logs
	echo    *echo
	exp     *expectations
	pool    *pool
	loops   *loopSet          // submit_loop()s, which outlive the chunk that started them
	jail    *jail             // nil: not sandboxed
	sources map[string]string // chunk name -> source, for error hints
}

// standardLibs are the Lua libraries a script gets: os without exit (see
// New), and besides them an io that only writes to the terminal (openIO).
// help("libraries") and docs/lua-api.md list them (librariesHelp).
var standardLibs = []struct {
	name string
	open lua.LGFunction
}{
	{lua.LoadLibName, lua.OpenPackage},
	{lua.BaseLibName, lua.OpenBase},
	{lua.TabLibName, lua.OpenTable},
	{lua.StringLibName, lua.OpenString},
	{lua.MathLibName, lua.OpenMath},
	{lua.OsLibName, lua.OpenOs},
	{lua.CoroutineLibName, lua.OpenCoroutine},
}

// openStandardLibs opens them, with io writing to out and err.
func openStandardLibs(L *lua.LState, out, err io.Writer) {
	for _, lib := range standardLibs {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	openIO(L, out, err)
}

// New opens a Lua state with an explicit list of standard libraries and
// the claims API.
func New(cfg Config) *Runtime {
	return openRuntime(cfg, newJail(cfg.Sandbox, cfg.Store))
}

// openRuntime is New in the sandbox j (nil: none), which a spawned
// consumer shares with its parent.
func openRuntime(cfg Config, j *jail) *Runtime {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.ConsumerMemory <= 0 {
		cfg.ConsumerMemory = DefaultMemory
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	out := io.Writer(&syncWriter{w: cfg.Out})
	if sw, ok := cfg.Out.(*syncWriter); ok {
		out = sw // a Lua consumer shares its parent's writer
	}
	errOut := out
	if cfg.Err != nil {
		errOut = &syncWriter{w: cfg.Err}
	}
	openStandardLibs(L, out, errOut)
	r := &Runtime{
		L: L, cfg: cfg, store: cfg.Store, out: out,
		echo:    &echo{on: cfg.Echo, out: out},
		exp:     &expectations{},
		pool:    &pool{store: cfg.Store, out: &syncWriter{w: out}},
		loops:   &loopSet{},
		jail:    j,
		sources: map[string]string{},
	}
	L.SetGlobal("print", L.NewFunction(printTo(out)))
	// os.exit would end the host without stopping workers or reporting the
	// result (and end `claimsctl check` as a pass): a script ends by returning.
	if osLib, ok := L.GetGlobal("os").(*lua.LTable); ok {
		osLib.RawSetString("exit", L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("os.exit is not available in claimsctl: end the script with return (or error(...) to fail)")
			return 0
		}))
	}
	if cfg.Store != nil {
		seededOS(L, cfg.Store)
	}
	args := L.NewTable()
	for i, a := range cfg.Args {
		args.RawSetInt(i+1, lua.LString(a))
	}
	L.SetGlobal("arg", args)
	r.openModules()
	if r.jail != nil {
		r.jail.lock(L)
	}
	return r
}

// Close stops the submit loops (abandoning a claim in flight) and the
// background workers (each finishes its batch), and releases the Lua state.
func (r *Runtime) Close() {
	r.loops.stopAll()
	r.pool.stopAll()
	r.L.Close()
}

// SetBackgroundOutput sends background workers' log lines to w, e.g. a
// writer that prints above the REPL's prompt instead of through it.
func (r *Runtime) SetBackgroundOutput(w io.Writer) {
	r.pool.out.redirect(w)
}

// newConsumerRuntime opens the Lua state a spawned consumer runs on: its
// own, since an LState is not goroutine-safe, logging where workers log,
// in its parent's sandbox (whose record of escapes it shares).
func (r *Runtime) newConsumerRuntime() *Runtime {
	return openRuntime(Config{Store: r.store, Out: r.pool.out, Backend: r.cfg.Backend, TTY: r.cfg.TTY, Sandbox: r.cfg.Sandbox, Host: r.cfg.Host}, r.jail)
}
