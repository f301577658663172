package luaapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// A graded hand-in runs in two Lua states. The student's file runs in one,
// sandboxed; the exercise's checks (the lib/ modules that call check())
// run in another, which the file cannot reach: its own globals, package
// table and string metatable, its modules loaded by the host from the lib
// folders. The file's require("checks_01") gets a stand-in that only takes
// the functions handed to it; once the file has run, the grader runs the
// real checks with them. Values cross between the states as copies
// (tables without their metatables) and functions as calls into the state
// they came from, so nothing the file rebinds, forges or declares itself
// changes what the checks see or record.

// HandIn is one graded file and the grader that runs its exercise's checks.
// Like a Runtime, it is not safe for concurrent use.
type HandIn struct {
	student, grader *Runtime
	libs            []string // where the checks modules are, in order

	mu       sync.Mutex
	required []string                // checks modules the file required, in order
	provided map[string][]lua.LValue // module -> what the file handed its stand-in
}

// HandInResult is what grading one file found.
type HandInResult struct {
	Checks       []CheckResult // the exercise's, then those that did not run
	Outside      int           // the checks' failed expectations outside any check
	FirstOutside string
	Escapes      []string // the file's attempts to leave the sandbox
	ScriptError  string   // the file's own error
	ChecksError  string   // why the checks stopped, if they did
	NoChecks     bool     // no checks module grades the file
}

// NewHandIn opens the two states of a graded file. cfg.Sandbox is
// required: its Lib folders hold the exercise's checks.
func NewHandIn(cfg Config) *HandIn {
	if cfg.Out == nil {
		cfg.Out = discard{}
	}
	// One writer for both states and their workers.
	cfg.Out = &syncWriter{w: cfg.Out}
	h := &HandIn{provided: map[string][]lua.LValue{}}
	j := newJail(cfg.Sandbox, cfg.Store)
	j.checksModule = h.standIn
	h.libs = j.lib
	h.student = openRuntime(cfg, j)

	graderDir := cfg.Sandbox.TempDir
	if len(cfg.Sandbox.Lib) > 0 {
		graderDir = cfg.Sandbox.Lib[0]
	}
	gcfg := Config{Store: cfg.Store.WithPrefix(cfg.Store.Keys().Prefix), Out: cfg.Out, Backend: cfg.Backend,
		Host: cfg.Host, Sandbox: &Sandbox{Dir: graderDir, Lib: cfg.Sandbox.Lib, TempDir: cfg.Sandbox.TempDir}}
	h.grader = New(gcfg)
	return h
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Close stops both states' workers and closes them.
func (h *HandIn) Close() {
	h.student.Close()
	h.grader.Close()
}

// Run runs the file, then the checks of modules (the exercise's, by
// require name) with what the file handed them; with no modules given, the
// checks modules the file required. It stops where ctx does.
func (h *HandIn) Run(ctx context.Context, file string, modules []string) HandInResult {
	var res HandInResult
	if err := h.student.DoFile(ctx, file); err != nil {
		res.ScriptError = err.Error()
	}
	if len(modules) == 0 {
		h.mu.Lock()
		modules = slices.Clone(h.required)
		h.mu.Unlock()
	}
	var declared []string
	if len(modules) == 0 {
		res.NoChecks = true
	}
	if ctx.Err() == nil {
		h.student.L.SetContext(ctx)
		for _, m := range modules {
			names, err := h.runChecks(ctx, m)
			declared = append(declared, names...)
			if err != nil {
				res.ChecksError = err.Error()
				break
			}
		}
		h.student.L.RemoveContext()
	} else {
		for _, m := range modules {
			if p, err := h.modulePath(m); err == nil {
				src, _ := os.ReadFile(p)
				declared = append(declared, CheckNames(string(src))...)
			}
		}
	}
	res.Checks = h.grader.Checks()
	for _, name := range declared {
		if !slices.ContainsFunc(res.Checks, func(c CheckResult) bool { return c.Name == name }) {
			res.Checks = append(res.Checks, CheckResult{Name: name, Message: "did not run"})
		}
	}
	res.Outside, res.FirstOutside = h.grader.FailedOutsideChecks()
	res.Escapes = append(h.student.Escapes(), h.grader.Escapes()...)
	return res
}

// modulePath is where the grader loads module name from: the first lib
// folder that has it, as the file's require looks.
func (h *HandIn) modulePath(name string) (string, error) {
	if !moduleName.MatchString(name) {
		return "", fmt.Errorf("no module may be called %q", name)
	}
	file := strings.ReplaceAll(name, ".", string(filepath.Separator)) + ".lua"
	for _, d := range h.libs {
		p := filepath.Join(d, file)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("module %s not found: no file %s in %s (claimsctl check --lib DIR adds a folder of modules)",
		name, file, strings.Join(h.libs, ", "))
}

// runChecks loads a checks module in the grader's state and runs it: a
// module returns function(...) that runs its checks with the file's
// functions (nil for a file that handed it none). It returns the check
// names the module declares.
func (h *HandIn) runChecks(ctx context.Context, name string) ([]string, error) {
	p, err := h.modulePath(name)
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read the checks %s: %w", p, err)
	}
	declared := CheckNames(string(src))
	g := h.grader
	g.sources[p] = string(src)
	chunk, err := g.L.Load(strings.NewReader(string(src)), p)
	if err != nil {
		return declared, errors.New(syntaxMessage(err, string(src)))
	}
	out, err := g.callValues(ctx, chunk)
	if err != nil {
		return declared, err
	}
	if len(out) == 0 || out[0] == lua.LNil {
		return declared, nil // its checks ran as it loaded
	}
	run, ok := out[0].(*lua.LFunction)
	if !ok {
		return declared, fmt.Errorf("%s returns a %s: a checks module returns function(...) that runs its checks", p, out[0].Type())
	}
	h.mu.Lock()
	given, handed := h.provided[name]
	h.mu.Unlock()
	if !handed && !run.IsG {
		// Each of its parameters says, when a check calls it, what the file
		// left out: better than "attempt to call a nil value".
		missing := g.L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("the file handed %s nothing: it ends with require(%q)(your function), as the exercise does", name, name)
			return 0
		})
		for range run.Proto.NumParameters {
			given = append(given, missing)
		}
		_, err = g.callValues(ctx, run, given...)
		return declared, err
	}
	args := make([]lua.LValue, len(given))
	for i, v := range given {
		if args[i], err = cross(h.student.L, g.L, v); err != nil {
			return declared, fmt.Errorf("what the file handed %s: %w", name, err)
		}
	}
	_, err = g.callValues(ctx, run, args...)
	return declared, err
}

// standIn is what the file's require returns for a checks module of a
// lib folder: a function that keeps what it is handed for the grader.
// ok is false for a module that declares no checks (a helper the file may
// load itself).
func (h *HandIn) standIn(L *lua.LState, name, path string) (lua.LValue, bool) {
	src, err := os.ReadFile(path)
	if err != nil || !DeclaresChecks(string(src)) {
		return nil, false
	}
	h.mu.Lock()
	if !slices.Contains(h.required, name) {
		h.required = append(h.required, name)
	}
	h.mu.Unlock()
	return L.NewFunction(func(L *lua.LState) int {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, done := h.provided[name]; done {
			L.RaiseError("%s already has your functions: the grader runs its checks once, after your file", name)
			return 0
		}
		vals := make([]lua.LValue, L.GetTop())
		for i := range vals {
			vals[i] = L.Get(i + 1)
		}
		h.provided[name] = vals
		return 0
	}), true
}

var anyCheckCall = regexp.MustCompile(`\bcheck\s*\(`)

// DeclaresChecks reports whether a Lua source calls check(): a module of
// a lib folder that does is the exercise's checks, which the grader runs.
func DeclaresChecks(src string) bool { return anyCheckCall.MatchString(src) }

var checkCall = regexp.MustCompile(`\bcheck\s*\(\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')`)

// CheckNames are the names of the check("name", ...) calls written in a
// Lua source, in order: a check the grader finds there that did not run is
// a failure.
func CheckNames(src string) []string {
	var names []string
	for _, m := range checkCall.FindAllStringSubmatch(src, -1) {
		name := m[1] + m[2]
		name = strings.NewReplacer(`\"`, `"`, `\'`, `'`, `\\`, `\`).Replace(name)
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

var requireCall = regexp.MustCompile(`\brequire\s*\(?\s*["']([A-Za-z0-9_.-]+)["']`)

// RequiredModules are the modules a Lua source requires by a literal
// name, in order.
func RequiredModules(src string) []string {
	var names []string
	for _, m := range requireCall.FindAllStringSubmatch(src, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	return names
}

// callValues calls fn protected with args and returns its results.
func (r *Runtime) callValues(ctx context.Context, fn *lua.LFunction, args ...lua.LValue) ([]lua.LValue, error) {
	r.L.SetContext(ctx)
	defer r.L.RemoveContext()
	top := r.L.GetTop()
	defer r.L.SetTop(top)
	if err := r.L.CallByParam(lua.P{Fn: fn, NRet: lua.MultRet, Protect: true}, args...); err != nil {
		if ctx.Err() != nil {
			return nil, &Error{msg: "interrupted", cancelled: true}
		}
		return nil, &Error{msg: r.undefinedHint(runtimeMessage(err))}
	}
	out := make([]lua.LValue, 0, r.L.GetTop()-top)
	for i := top + 1; i <= r.L.GetTop(); i++ {
		out = append(out, r.L.Get(i))
	}
	return out, nil
}

// maxCrossValues bounds the values one crossing copies: a table of a
// million entries is no answer to an exercise.
const maxCrossValues = 1 << 20

// cross copies v from the state from into to: strings, numbers and
// booleans as they are, tables entry by entry without their metatables
// (so no __eq, __index or __tostring of one state runs in the other),
// functions as calls into from. Threads and userdata become nil.
func cross(from, to *lua.LState, v lua.LValue) (lua.LValue, error) {
	c := crossing{from: from, to: to, seen: map[*lua.LTable]*lua.LTable{}}
	return c.value(v)
}

type crossing struct {
	from, to *lua.LState
	seen     map[*lua.LTable]*lua.LTable
	n        int
}

func (c *crossing) value(v lua.LValue) (lua.LValue, error) {
	if c.n++; c.n > maxCrossValues {
		return lua.LNil, fmt.Errorf("a value of more than %d entries", maxCrossValues)
	}
	switch v := v.(type) {
	case lua.LString, lua.LNumber, lua.LBool, *lua.LNilType:
		return v, nil
	case *lua.LTable:
		if t, ok := c.seen[v]; ok {
			return t, nil
		}
		t := c.to.NewTable()
		c.seen[v] = t
		var err error
		k, val := v.Next(lua.LNil)
		for k != lua.LNil && err == nil {
			var ck, cv lua.LValue
			if ck, err = c.value(k); err != nil {
				break
			}
			if cv, err = c.value(val); err != nil {
				break
			}
			if ck != lua.LNil {
				t.RawSet(ck, cv)
			}
			k, val = v.Next(k)
		}
		return t, err
	case *lua.LFunction:
		return callInto(c.from, c.to, v), nil
	default:
		return lua.LNil, nil
	}
}

// callInto is fn of the state owner as a function of the state caller:
// its arguments and results cross, and an error it raises comes back as
// a message.
func callInto(owner, caller *lua.LState, fn *lua.LFunction) *lua.LFunction {
	return caller.NewFunction(func(L *lua.LState) int {
		args := make([]lua.LValue, L.GetTop())
		for i := range args {
			v, err := cross(caller, owner, L.Get(i+1))
			if err != nil {
				L.RaiseError("%s", err.Error())
			}
			args[i] = v
		}
		top := owner.GetTop()
		err := owner.CallByParam(lua.P{Fn: fn, NRet: lua.MultRet, Protect: true}, args...)
		if err != nil {
			owner.SetTop(top)
			L.Error(lua.LString(crossedError(err)), 0)
			return 0
		}
		results := make([]lua.LValue, 0, owner.GetTop()-top)
		for i := top + 1; i <= owner.GetTop(); i++ {
			results = append(results, owner.Get(i))
		}
		owner.SetTop(top)
		for _, r := range results {
			v, err := cross(owner, caller, r)
			if err != nil {
				L.RaiseError("%s", err.Error())
			}
			L.Push(v)
		}
		return len(results)
	})
}

// crossedError is the message of an error raised in the other state. A
// value that is not a string says what it is: its __tostring is the other
// state's code, which this one does not run.
func crossedError(err error) string {
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Object != nil {
		switch o := apiErr.Object.(type) {
		case lua.LString:
			return runtimeMessage(err)
		case lua.LNumber:
			return o.String()
		default:
			return fmt.Sprintf("error(%s): an error that is not a message", o.Type())
		}
	}
	return runtimeMessage(err)
}
