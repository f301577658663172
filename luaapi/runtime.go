// Package luaapi exposes the claims event store to Lua (gopher-lua): the
// lab's primitives as plain globals (submit, consume, ack, replay, report,
// ...) and as modules for require("claims.produce") and friends.
package luaapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"claimsctl/streams"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Config is what a Runtime needs from its host.
type Config struct {
	Store *streams.Store
	Out   io.Writer // print(), command summaries, trace
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
}

// Runtime is one Lua state bound to a store. Like an LState, it is not
// safe for concurrent use: one Runtime per goroutine.
type Runtime struct {
	L     *lua.LState
	cfg   Config
	store *streams.Store
	out   io.Writer

	// echoed holds the values this chunk's commands already summarised, so
	// the REPL does not print them a second time as the chunk's value.
	echoed []lua.LValue

	bg      []*background     // workers started by start() and spawn()
	bgOut   *syncWriter       // where background workers log
	sources map[string]string // chunk name -> source, for error hints

	mu           sync.Mutex
	checks       []CheckResult
	failed       int    // failed expectations, in checks or not
	outside      int    // failed expectations outside any check
	firstOutside string // the first of them, with its line
	active       *CheckResult
}

// CheckResult is one named check of an exercise.
type CheckResult struct {
	Name    string
	Passed  bool
	Message string // first failed expectation or the error
	Errored bool
}

// module is one group of Lua functions, loadable with require.
type module struct {
	name  string
	funcs map[string]lua.LGFunction
}

// New opens a Lua state with an explicit list of standard libraries and
// the claims API.
func New(cfg Config) *Runtime {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.OsLibName, lua.OpenOs},
		{lua.CoroutineLibName, lua.OpenCoroutine},
	} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	out := io.Writer(&syncWriter{w: cfg.Out})
	if sw, ok := cfg.Out.(*syncWriter); ok {
		out = sw // a Lua consumer shares its parent's writer
	}
	r := &Runtime{L: L, cfg: cfg, store: cfg.Store, out: out, bgOut: &syncWriter{w: out}, sources: map[string]string{}}
	L.SetGlobal("print", L.NewFunction(r.print))
	// os.exit would end the host without stopping workers or reporting the
	// result (and end `claimsctl check` as a pass): a script ends by returning.
	if osLib, ok := L.GetGlobal("os").(*lua.LTable); ok {
		osLib.RawSetString("exit", L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("os.exit is not available in claimsctl: end the script with return (or error(...) to fail)")
			return 0
		}))
	}
	args := L.NewTable()
	for i, a := range cfg.Args {
		args.RawSetInt(i+1, lua.LString(a))
	}
	L.SetGlobal("arg", args)
	preload := L.GetField(L.GetField(L.Get(lua.EnvironIndex), "package"), "preload")
	for _, m := range r.modules() {
		for name, fn := range m.funcs {
			L.SetGlobal(name, L.NewFunction(fn))
		}
		L.SetField(preload, m.name, L.NewFunction(func(L *lua.LState) int {
			t := L.NewTable()
			for name, fn := range m.funcs {
				t.RawSetString(name, L.NewFunction(fn))
			}
			L.Push(t)
			return 1
		}))
	}
	return r
}

func (r *Runtime) modules() []module {
	return []module{
		{"claims.produce", r.produceFuncs()},
		{"claims.consume", r.consumeFuncs()},
		{"claims.replay", r.replayFuncs()},
		{"claims.report", r.reportFuncs()},
		{"claims.ops", r.opsFuncs()},
		{"claims.teach", r.teachFuncs()},
		{"claims.lab", r.labFuncs()},
		{"claims.workers", r.workerFuncs()},
	}
}

// Close stops the background workers (each finishes its batch) and
// releases the Lua state.
func (r *Runtime) Close() {
	r.stopWorkers()
	r.L.Close()
}

// Failed is how many expectations failed so far.
func (r *Runtime) Failed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// SetBackgroundOutput sends background workers' log lines to w, e.g. a
// writer that prints above the REPL's prompt instead of through it.
func (r *Runtime) SetBackgroundOutput(w io.Writer) {
	r.bgOut.mu.Lock()
	r.bgOut.w = w
	r.bgOut.mu.Unlock()
}

// FailedOutsideChecks is how many expectations failed outside any
// check(), and the first one's line and message.
func (r *Runtime) FailedOutsideChecks() (int, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outside, r.firstOutside
}

// Checks returns the named checks recorded so far.
func (r *Runtime) Checks() []CheckResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]CheckResult(nil), r.checks...)
}

// DoFile runs a script; errors carry the file name and line.
func (r *Runtime) DoFile(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open script: %w", err)
	}
	defer f.Close()
	// require() finds modules next to the script, in its lib/ folder and in
	// its parent's lib/ (exercises/solutions/ shares exercises/lib/), so
	// scripts share helpers wherever claimsctl is started from.
	dir := filepath.Dir(path)
	pkg := r.L.GetGlobal("package")
	if t, ok := pkg.(*lua.LTable); ok {
		search := filepath.Join(dir, "?.lua") + ";" + filepath.Join(dir, "lib", "?.lua") + ";" +
			filepath.Join(dir, "..", "lib", "?.lua") + ";"
		if cur, ok := t.RawGetString("path").(lua.LString); !ok || !strings.Contains(string(cur), search) {
			t.RawSetString("path", lua.LString(search+t.RawGetString("path").String()))
		}
	}
	src, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("read script: %w", err)
	}
	r.sources[path] = string(src)
	fn, err := r.L.Load(strings.NewReader(string(src)), path)
	if err != nil {
		return &Error{msg: syntaxMessage(err)}
	}
	return r.call(ctx, fn)
}

// DoString runs code; name is used in error positions.
func (r *Runtime) DoString(ctx context.Context, code, name string) error {
	r.sources[name] = code
	fn, err := r.L.Load(strings.NewReader(code), name)
	if err != nil {
		return &Error{msg: syntaxMessage(err)}
	}
	return r.call(ctx, fn)
}

// Eval runs one REPL chunk. It tries "return <chunk>" first so that an
// expression shows its value, as the standalone lua does.
func (r *Runtime) Eval(ctx context.Context, chunk string) (string, error) {
	return r.EvalNamed(ctx, chunk, "stdin")
}

// EvalNamed is Eval with the chunk name used in error positions.
func (r *Runtime) EvalNamed(ctx context.Context, chunk, name string) (string, error) {
	r.sources[name] = chunk
	fn, err := r.L.Load(strings.NewReader("return "+chunk), name)
	if err != nil {
		if fn, err = r.L.Load(strings.NewReader(chunk), name); err != nil {
			if incomplete(err) {
				return "", &incompleteError{msg: syntaxMessage(err)}
			}
			return "", &Error{msg: syntaxMessage(err)}
		}
	}
	top := r.L.GetTop()
	r.echoed = r.echoed[:0]
	if err := r.callN(ctx, fn, lua.MultRet); err != nil {
		return "", err
	}
	var parts []string
	for i := top + 1; i <= r.L.GetTop(); i++ {
		if v := r.L.Get(i); !r.wasEchoed(v) {
			parts = append(parts, formatValue(v))
		}
	}
	r.L.SetTop(top)
	return strings.Join(parts, "\t"), nil
}

// incompleteError marks a chunk that ended inside a statement; its message
// is shown only if the input ends there.
type incompleteError struct{ msg string }

func (e *incompleteError) Error() string { return e.msg }

// Incomplete reports whether an Eval error means "continue on the next line".
func (r *Runtime) Incomplete(err error) bool {
	var ie *incompleteError
	return errors.As(err, &ie)
}

func incomplete(err error) bool {
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) {
		var perr *parse.Error
		if errors.As(apiErr.Cause, &perr) {
			return perr.Pos.Line == parse.EOF
		}
	}
	return false
}

// Error is a Lua error with its position, ready to show a student.
type Error struct {
	msg       string
	cancelled bool
}

func (e *Error) Error() string { return e.msg }

// Interrupted reports whether the chunk was stopped by cancelling its context.
func (e *Error) Interrupted() bool { return e.cancelled }

func (r *Runtime) call(ctx context.Context, fn *lua.LFunction) error {
	top := r.L.GetTop()
	defer r.L.SetTop(top)
	return r.callN(ctx, fn, 0)
}

// callN runs fn with a fresh context: an LState whose context was
// cancelled stays cancelled, so each evaluation gets its own.
func (r *Runtime) callN(ctx context.Context, fn *lua.LFunction, nret int) error {
	r.L.SetContext(ctx)
	defer r.L.RemoveContext()
	r.L.Push(fn)
	err := r.L.PCall(0, nret, nil)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return &Error{msg: "interrupted", cancelled: true}
	}
	return &Error{msg: r.undefinedHint(runtimeMessage(err))}
}

var (
	callError  = regexp.MustCompile(`^(.*?):(\d+): attempt to call a non-function object`)
	calledName = regexp.MustCompile(`(^|[^.:\w"'])([A-Za-z_]\w*)\s*[({"']`)
)

// undefinedHint names the undefined function behind gopher-lua's "attempt
// to call a non-function object" and suggests the API name a typo was
// probably meant to be (sumbit -> submit).
func (r *Runtime) undefinedHint(msg string) string {
	m := callError.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	line, _ := strconv.Atoi(m[2])
	lines := strings.Split(r.sources[m[1]], "\n")
	if line < 1 || line > len(lines) {
		return msg
	}
	for _, c := range calledName.FindAllStringSubmatch(lines[line-1], -1) {
		name := c[2]
		if luaKeywords[name] || r.L.GetGlobal(name) != lua.LNil {
			continue
		}
		return fmt.Sprintf("%s: %s is not defined. %s", msg, name, suggestion(name))
	}
	return msg
}

var luaKeywords = map[string]bool{
	"and": true, "break": true, "do": true, "else": true, "elseif": true, "end": true, "false": true,
	"for": true, "function": true, "if": true, "in": true, "local": true, "nil": true, "not": true,
	"or": true, "repeat": true, "return": true, "then": true, "true": true, "until": true, "while": true,
}

func syntaxMessage(err error) string {
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) {
		var perr *parse.Error
		if errors.As(apiErr.Cause, &perr) {
			if perr.Pos.Line == parse.EOF {
				return fmt.Sprintf("%s: syntax error: the input ends inside a statement (a missing \"end\" or closing bracket?)", perr.Pos.Source)
			}
			return fmt.Sprintf("%s:%d: syntax error near '%s': %s", perr.Pos.Source, perr.Pos.Line, perr.Token, perr.Message)
		}
	}
	return strings.TrimSpace(err.Error())
}

// runtimeMessage keeps the "file:line: message" of a Lua error and drops
// gopher-lua's stack traceback, which points into Go and confuses students.
func runtimeMessage(err error) string {
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Object != nil {
		return strings.TrimSpace(apiErr.Object.String())
	}
	msg := err.Error()
	if i := strings.Index(msg, "\nstack traceback:"); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(msg)
}

// raise turns a Go error into a Lua error at the caller's line. Domain
// errors already read as sentences; they are passed on as they are.
func raise(L *lua.LState, err error) int {
	L.RaiseError("%s", err.Error())
	return 0
}

func (r *Runtime) print(L *lua.LState) int {
	n := L.GetTop()
	parts := make([]string, n)
	for i := 1; i <= n; i++ {
		v := L.Get(i)
		if s, ok := v.(lua.LString); ok {
			parts[i-1] = string(s)
		} else {
			parts[i-1] = formatValue(v)
		}
	}
	fmt.Fprintln(r.out, strings.Join(parts, "\t"))
	return 0
}

// echo prints a command's one-line summary (REPL only) and remembers
// the value it summarised.
func (r *Runtime) echo(v lua.LValue, format string, args ...any) {
	if r.cfg.Echo {
		fmt.Fprintf(r.out, format+"\n", args...)
		r.echoed = append(r.echoed, v)
	}
}

func (r *Runtime) wasEchoed(v lua.LValue) bool {
	for _, e := range r.echoed {
		if e == v {
			return true
		}
	}
	return false
}

func ctxOf(L *lua.LState) context.Context {
	if ctx := L.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
