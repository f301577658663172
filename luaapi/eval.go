package luaapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

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
		return &Error{msg: syntaxMessage(err, string(src))}
	}
	if err := r.awaitCheck(string(src), path); err != nil {
		return err
	}
	return r.call(ctx, fn)
}

// DoString runs code; name is used in error positions.
func (r *Runtime) DoString(ctx context.Context, code, name string) error {
	r.sources[name] = code
	fn, err := r.L.Load(strings.NewReader(code), name)
	if err != nil {
		return &Error{msg: syntaxMessage(err, code)}
	}
	if err := r.awaitCheck(code, name); err != nil {
		return err
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
	// What ran is kept for the hint on an error (both forms have the
	// same line numbers).
	r.sources[name] = "return " + chunk
	fn, err := r.L.Load(strings.NewReader(r.sources[name]), name)
	if err != nil {
		r.sources[name] = chunk
		if fn, err = r.L.Load(strings.NewReader(chunk), name); err != nil {
			if withValue, ok := r.lastExpression(chunk, name); ok {
				r.sources[name] = withValue
				fn, err = r.L.Load(strings.NewReader(withValue), name)
			}
		}
		if err != nil {
			if incomplete(err) {
				return "", &incompleteError{msg: syntaxMessage(err, chunk)}
			}
			return "", &Error{msg: syntaxMessage(err, chunk)}
		}
	}
	if err := r.awaitCheck(r.sources[name], name); err != nil {
		return "", err
	}
	top := r.L.GetTop()
	r.echo.reset()
	err = r.callN(ctx, fn, lua.MultRet)
	if r.pool.stepping() {
		// A seeded run's workers take their turns between commands, so
		// the state view after each shows what they did, every time alike.
		if derr := r.pool.drain(ctx); derr != nil && err == nil {
			err = &Error{msg: "the workers: " + derr.Error(), cancelled: ctx.Err() != nil}
		}
	}
	if err != nil {
		r.L.SetTop(top)
		return "", err
	}
	var parts []string
	for i := top + 1; i <= r.L.GetTop(); i++ {
		if v := r.L.Get(i); !r.echo.wasShown(v) {
			parts = append(parts, formatValue(v))
		}
	}
	r.L.SetTop(top)
	return strings.Join(parts, "\t"), nil
}

// lastExpression makes "x = claim(id); x.status" show x.status, as the
// standalone lua shows a lone expression: statements, then the expression
// after the last ';' returned. Lua has no expression statements, so the
// chunk as typed does not compile (and would read as unfinished); each ';'
// from the right is tried, as one inside a string literal fails to compile.
func (r *Runtime) lastExpression(chunk, name string) (string, bool) {
	for i := strings.LastIndex(chunk, ";"); i >= 0; i = strings.LastIndex(chunk[:i], ";") {
		if strings.TrimSpace(chunk[i+1:]) == "" {
			continue
		}
		candidate := chunk[:i+1] + " return " + chunk[i+1:]
		if _, err := r.L.Load(strings.NewReader(candidate), name); err == nil {
			return candidate, true
		}
	}
	return "", false
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

// syntaxMessage is a parse error of src as a student reads it: where,
// near what, and the habit of another language it shows (habitHint).
func syntaxMessage(err error, src string) string {
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) {
		var perr *parse.Error
		if errors.As(apiErr.Cause, &perr) {
			if perr.Pos.Line == parse.EOF {
				return fmt.Sprintf("%s: syntax error: the input ends inside a statement (a missing \"end\" or closing bracket?)", perr.Pos.Source)
			}
			msg := fmt.Sprintf("%s:%d: syntax error near '%s': %s", perr.Pos.Source, perr.Pos.Line, perr.Token, perr.Message)
			if hint := habitHint(src, perr); hint != "" {
				msg += ". " + hint
			}
			return msg
		}
	}
	return strings.TrimSpace(err.Error())
}

// runtimeMessage keeps the "file:line: message" of a Lua error and drops
// gopher-lua's stack traceback, which points into Go and confuses students.
func runtimeMessage(err error) string {
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Object != nil {
		return moduleNotFoundLine(strings.TrimSpace(apiErr.Object.String()))
	}
	msg := err.Error()
	if i := strings.Index(msg, "\nstack traceback:"); i >= 0 {
		msg = msg[:i]
	}
	return moduleNotFoundLine(strings.TrimSpace(msg))
}

var (
	moduleNotFound = regexp.MustCompile(`(?s)^(.*module \S+ not found):(.*)$`)
	statFailed     = regexp.MustCompile(`^stat (.+): `)
)

// moduleNotFoundLine says require's "module X not found" in one line:
// gopher-lua lists every place it looked on a line of its own, which
// breaks a table row (claimsctl check) and buries the point.
func moduleNotFoundLine(msg string) string {
	m := moduleNotFound.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	var files, other []string
	for _, line := range strings.Split(m[2], "\n") {
		line = strings.TrimSuffix(strings.TrimSpace(line), ",")
		switch s := statFailed.FindStringSubmatch(line); {
		case line == "", strings.HasPrefix(line, "no field package.preload"):
		case s != nil:
			files = append(files, s[1])
		default:
			other = append(other, line)
		}
	}
	if len(files) > 0 {
		other = append(other, "no file "+strings.Join(files, ", "))
	}
	return m[1] + ": " + strings.Join(other, "; ")
}

func ctxOf(L *lua.LState) context.Context {
	if ctx := L.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
