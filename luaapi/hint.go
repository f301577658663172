package luaapi

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// gopher-lua says only "attempt to call a non-function object". The hint
// finds the call on that line in the chunk's syntax tree, looks up what it
// called, and suggests only names that could be meant there: string
// methods after s:, a module's functions after string., global functions
// for a plain name. When it cannot be sure which call failed or what it
// called (a local, a nested field, two candidates), it says nothing.

var callError = regexp.MustCompile(`^(.*?):(\d+): attempt to call a non-function object`)

// arithError is arithmetic on nil: customer=CUST-0001 without quotes is
// CUST minus 1.
var arithError = regexp.MustCompile(`^(.*?):(\d+): cannot perform sub operation between nil and number`)

// requiredError is a field left out; written as type=auto (no quotes) it
// was there, but nil, and a table drops nil values.
var requiredError = regexp.MustCompile(`^(.*?):(\d+): .*?\b(\w+) is required`)

// indexError is indexing nil: most often a variable whose assignment
// raised an error (c = submit{...} with a bad field leaves c nil).
var indexError = regexp.MustCompile(`^(.*?):(\d+): attempt to index a non-table object\(nil\) with key '([^']*)'`)

// undefinedHint adds to msg what was called and what was probably meant:
// "sumbit is not defined. Did you mean submit?".
func (r *Runtime) undefinedHint(msg string) string {
	m := callError.FindStringSubmatch(msg)
	index, arith := false, false
	if m == nil {
		if m = indexError.FindStringSubmatch(msg); m != nil {
			index = true
		} else if m = arithError.FindStringSubmatch(msg); m != nil {
			arith = true
		} else if m = requiredError.FindStringSubmatch(msg); m != nil {
			return r.requiredHint(msg, m)
		} else {
			return msg
		}
	}
	line, _ := strconv.Atoi(m[2])
	src, ok := r.sources[m[1]]
	if !ok {
		return msg
	}
	stmts, err := parse.Parse(strings.NewReader(src), m[1])
	if err != nil {
		return msg
	}
	var w callWalker
	w.stmts(stmts)
	hints := map[string]bool{}
	if arith {
		text := ""
		if lines := strings.Split(src, "\n"); line >= 1 && line <= len(lines) {
			text = lines[line-1]
		}
		for _, a := range w.ariths {
			if h := r.explainUnquoted(a, text, w.locals); a.Line() == line && h != "" {
				hints[h] = true
			}
		}
	} else if index {
		// Only when the line indexes with that key once: with two such
		// accesses (y and y.id, x.inner.id) the one that failed is not known.
		var same []*ast.AttrGetExpr
		for _, g := range w.gets {
			if k, ok := g.Key.(*ast.StringExpr); ok && k.Value == m[3] && g.Line() == line {
				same = append(same, g)
			}
		}
		if len(same) == 1 {
			if h := r.explainIndex(same[0], w.locals); h != "" {
				hints[h] = true
			}
		}
	} else {
		for _, c := range w.calls {
			if h := r.explainCall(c, w.locals); c.Line() == line && h != "" {
				hints[h] = true
			}
		}
	}
	if len(hints) != 1 {
		return msg
	}
	for h := range hints {
		msg += ": " + h
	}
	return msg
}

// requiredHint explains a required field that the line gives as a bare
// name (type=auto): a global that is nil, so the field never arrived.
func (r *Runtime) requiredHint(msg string, m []string) string {
	line, _ := strconv.Atoi(m[2])
	src, ok := r.sources[m[1]]
	lines := strings.Split(src, "\n")
	if !ok || line < 1 || line > len(lines) {
		return msg
	}
	got := regexp.MustCompile(`\b` + regexp.QuoteMeta(m[3]) + `\s*=\s*([A-Za-z_]\w*)`).FindStringSubmatch(lines[line-1])
	if got == nil || luaKeywords[got[1]] || r.L.GetGlobal(got[1]) != lua.LNil {
		return msg
	}
	return fmt.Sprintf("%s: %s=%s gives %s the value of the variable %s, which is nil: write %s=%q, in quotes.", msg, m[3], got[1], m[3], got[1], m[3], got[1])
}

// luaKeywords are the names a field's value may be that are no variable.
var luaKeywords = map[string]bool{"nil": true, "true": true, "false": true, "function": true, "not": true}

// explainUnquoted spots a text written without quotes (CUST-0001: a nil
// global minus a number, with no space around the minus, as written on
// the line), or says "".
func (r *Runtime) explainUnquoted(a *ast.ArithmeticOpExpr, line string, locals map[string]bool) string {
	id, ok := a.Lhs.(*ast.IdentExpr)
	_, isNumber := a.Rhs.(*ast.NumberExpr)
	if a.Operator != "-" || !ok || !isNumber || locals[id.Value] || r.L.GetGlobal(id.Value) != lua.LNil {
		return ""
	}
	text := regexp.MustCompile(`\b` + regexp.QuoteMeta(id.Value) + `-[0-9][0-9A-Za-z_]*`).FindString(line)
	if text == "" {
		return ""
	}
	return fmt.Sprintf("%s is nil: for the text %s write %q, in quotes.", id.Value, text, text)
}

// explainIndex names the nil global that g indexes, or "" when g indexes
// something else (a local, a nested field).
func (r *Runtime) explainIndex(g *ast.AttrGetExpr, locals map[string]bool) string {
	id, ok := g.Object.(*ast.IdentExpr)
	if !ok || locals[id.Value] || r.L.GetGlobal(id.Value) != lua.LNil {
		return ""
	}
	return fmt.Sprintf("%s is nil: it was never set, or the line that was to set it raised an error.", id.Value)
}

// explainCall says why call c cannot work with the globals as they are
// now, or "" when it may work or its target is not known (a local).
func (r *Runtime) explainCall(c *ast.FuncCallExpr, locals map[string]bool) string {
	global := func(e ast.Expr) (string, lua.LValue, bool) {
		id, ok := e.(*ast.IdentExpr)
		if !ok || locals[id.Value] {
			return "", nil, false
		}
		return id.Value, r.L.GetGlobal(id.Value), true
	}
	if c.Receiver != nil {
		var recv lua.LValue
		name := ""
		if s, ok := c.Receiver.(*ast.StringExpr); ok {
			recv = lua.LString(s.Value)
		} else if n, v, ok := global(c.Receiver); ok {
			name, recv = n, v
		}
		switch v := recv.(type) {
		case lua.LString:
			methods := r.stringMethods()
			if _, ok := methods.RawGetString(c.Method).(*lua.LFunction); ok {
				return ""
			}
			return fmt.Sprintf("%s is not a string method.%s", c.Method, didYouMean(c.Method, functionKeys(methods), ""))
		case *lua.LTable:
			return fieldHint(v, name, c.Method, ":")
		}
		return ""
	}
	switch f := c.Func.(type) {
	case *ast.IdentExpr:
		name, v, ok := global(f)
		if !ok {
			return ""
		}
		if v == lua.LNil {
			if hint := didYouMean(name, r.globalFunctions(), ""); hint != "" {
				return fmt.Sprintf("%s is not defined.%s", name, hint)
			}
			return fmt.Sprintf("%s is not defined. help() lists everything.", name)
		}
		return notCallable(name, v)
	case *ast.AttrGetExpr:
		name, obj, ok := global(f.Object)
		key, isName := f.Key.(*ast.StringExpr)
		if t, isTable := obj.(*lua.LTable); ok && isName && isTable {
			return fieldHint(t, name, key.Value, ".")
		}
	}
	return ""
}

// fieldHint explains a call of t.key (sep ".") or t:key (sep ":").
func fieldHint(t *lua.LTable, name, key, sep string) string {
	v := t.RawGetString(key)
	if v == lua.LNil {
		if t.Metatable != lua.LNil {
			return "" // an __index may supply it
		}
		return fmt.Sprintf("%s%s%s is not defined.%s", name, sep, key, didYouMean(key, functionKeys(t), name+sep))
	}
	return notCallable(name+"."+key, v)
}

func notCallable(name string, v lua.LValue) string {
	switch x := v.(type) {
	case *lua.LFunction:
		return ""
	case *lua.LTable:
		if x.Metatable != lua.LNil {
			return "" // a __call may make it callable
		}
	case *lua.LUserData:
		return ""
	}
	return fmt.Sprintf("%s is a %s, not a function.", name, v.Type())
}

// stringMethods is the table a string's methods come from (s:format).
func (r *Runtime) stringMethods() *lua.LTable {
	if mt, ok := r.L.GetMetatable(lua.LString("")).(*lua.LTable); ok {
		if idx, ok := mt.RawGetString("__index").(*lua.LTable); ok {
			return idx
		}
	}
	return r.L.NewTable()
}

// globalFunctions are the names a global call may have meant: the API
// and Lua's own functions.
func (r *Runtime) globalFunctions() []string {
	return functionKeys(r.L.G.Global)
}

func functionKeys(t *lua.LTable) []string {
	var names []string
	t.ForEach(func(k, v lua.LValue) {
		if s, ok := k.(lua.LString); ok {
			if _, fn := v.(*lua.LFunction); fn {
				names = append(names, string(s))
			}
		}
	})
	return names
}

// didYouMean is " Did you mean X?" for the closest candidates (with
// prefix before each), or "" when none is close.
func didYouMean(name string, candidates []string, prefix string) string {
	best := closest(name, candidates)
	if len(best) == 0 {
		return ""
	}
	for i := range best {
		best[i] = prefix + best[i]
	}
	return " Did you mean " + strings.Join(best, " or ") + "?"
}

// callWalker collects every call and field access of a chunk and every name it declares
// local anywhere (a local shadows a global of that name, and its value
// is not known after the error).
type callWalker struct {
	calls  []*ast.FuncCallExpr
	gets   []*ast.AttrGetExpr
	ariths []*ast.ArithmeticOpExpr
	locals map[string]bool
	awaits []int // lines of x = await ... (see awaitCheck)
}

func (w *callWalker) local(names ...string) {
	if w.locals == nil {
		w.locals = map[string]bool{}
	}
	for _, n := range names {
		w.locals[n] = true
	}
}

// await notes an assignment whose value is the name await.
func (w *callWalker) await(line int, values []ast.Expr) {
	if len(values) > 0 {
		if id, ok := values[len(values)-1].(*ast.IdentExpr); ok && id.Value == "await" {
			w.awaits = append(w.awaits, line)
		}
	}
}

func (w *callWalker) stmts(stmts []ast.Stmt) {
	for _, s := range stmts {
		w.stmt(s)
	}
}

func (w *callWalker) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		w.await(s.Line(), s.Rhs)
		w.exprs(s.Lhs...)
		w.exprs(s.Rhs...)
	case *ast.LocalAssignStmt:
		w.await(s.Line(), s.Exprs)
		w.local(s.Names...)
		w.exprs(s.Exprs...)
	case *ast.FuncCallStmt:
		w.expr(s.Expr)
	case *ast.DoBlockStmt:
		w.stmts(s.Stmts)
	case *ast.WhileStmt:
		w.expr(s.Condition)
		w.stmts(s.Stmts)
	case *ast.RepeatStmt:
		w.stmts(s.Stmts)
		w.expr(s.Condition)
	case *ast.IfStmt:
		w.expr(s.Condition)
		w.stmts(s.Then)
		w.stmts(s.Else)
	case *ast.NumberForStmt:
		w.local(s.Name)
		w.exprs(s.Init, s.Limit, s.Step)
		w.stmts(s.Stmts)
	case *ast.GenericForStmt:
		w.local(s.Names...)
		w.exprs(s.Exprs...)
		w.stmts(s.Stmts)
	case *ast.FuncDefStmt:
		w.exprs(s.Name.Func, s.Name.Receiver)
		if s.Name.Method != "" {
			w.local("self")
		}
		w.expr(s.Func)
	case *ast.ReturnStmt:
		w.exprs(s.Exprs...)
	}
}

func (w *callWalker) exprs(es ...ast.Expr) {
	for _, e := range es {
		w.expr(e)
	}
}

func (w *callWalker) expr(e ast.Expr) {
	switch e := e.(type) {
	case *ast.FuncCallExpr:
		w.calls = append(w.calls, e)
		w.exprs(e.Func, e.Receiver)
		w.exprs(e.Args...)
	case *ast.AttrGetExpr:
		w.gets = append(w.gets, e)
		w.exprs(e.Object, e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			w.exprs(f.Key, f.Value)
		}
	case *ast.LogicalOpExpr:
		w.exprs(e.Lhs, e.Rhs)
	case *ast.RelationalOpExpr:
		w.exprs(e.Lhs, e.Rhs)
	case *ast.StringConcatOpExpr:
		w.exprs(e.Lhs, e.Rhs)
	case *ast.ArithmeticOpExpr:
		w.ariths = append(w.ariths, e)
		w.exprs(e.Lhs, e.Rhs)
	case *ast.UnaryMinusOpExpr:
		w.expr(e.Expr)
	case *ast.UnaryNotOpExpr:
		w.expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		w.expr(e.Expr)
	case *ast.FunctionExpr:
		if e.ParList != nil {
			w.local(e.ParList.Names...)
		}
		w.stmts(e.Stmts)
	}
}
