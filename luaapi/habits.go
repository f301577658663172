package luaapi

import (
	"fmt"
	"regexp"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// A student who comes from the lab's JavaScript seed writes const, await,
// != and // comments, and gopher-lua answers "syntax error near 'c'". The
// hints here read the line the parser stopped at and name the habit and
// its Lua: only where the line shows it, otherwise the error stays as it
// was.

var jsDeclaration = regexp.MustCompile(`^\s*(?:export\s+)?(const|let|var)\s+([A-Za-z_]\w*)`)

var awaitWord = regexp.MustCompile(`\bawait\s`)

// habitHint is what to add to a syntax error at perr in src, or "".
func habitHint(src string, perr *parse.Error) string {
	lines := strings.Split(src, "\n")
	if perr.Pos.Line < 1 || perr.Pos.Line > len(lines) {
		return ""
	}
	line := lines[perr.Pos.Line-1]
	col := min(max(perr.Pos.Column-1, 0), len(line))
	code := stripStrings(line)
	at := func(s string) bool { return strings.HasPrefix(line[col:], s) }
	await := ""
	if awaitWord.MatchString(code) {
		await = " Lua has no await either: a call returns its result at once."
	}
	switch m := jsDeclaration.FindStringSubmatch(code); {
	case m != nil && perr.Token == m[2]:
		return fmt.Sprintf("Lua has no %s: write %s = ... (a global, which the REPL keeps for the next lines), or local %s = ... in a script or function.%s", m[1], m[2], m[2], await)
	case perr.Token == "!" && (at("!==") || at("!=")):
		return "Lua writes not equal as ~= (a ~= b)."
	case perr.Token == "!":
		return "Lua writes not x for !x."
	case perr.Token == "=" && col >= 2 && strings.Contains(line[max(col-2, 0):min(col+1, len(line))], "==="):
		return "Lua compares with == (there is no ===)."
	case perr.Token == "&" && at("&&"):
		return "Lua writes a and b for a && b."
	case perr.Token == "|" && at("||"):
		return "Lua writes a or b for a || b."
	case perr.Token == "?":
		return "Lua has no ?: operator: write cond and a or b (when a is neither nil nor false), or an if."
	case perr.Token == "/" && strings.Contains(code, "//"):
		return "Lua comments start with --, not //."
	case perr.Token == "/" && strings.Contains(code, "/*"):
		return "Lua comments start with --, and a block comment is --[[ ... ]], not /* ... */."
	}
	if open := unclosedBracket(lines, perr.Pos.Line, col); open != 0 && endsWithValue(lines, perr.Pos.Line, col) {
		if open == '{' {
			return "A missing comma? The fields of a table are separated by commas: {customer=\"CUST-0001\", amount=2500}." + await
		}
		return "A missing comma? The arguments of a call are separated by commas: f(a, b)." + await
	}
	return strings.TrimSpace(await)
}

// stripStrings blanks the contents of the string literals on a line (and
// drops a -- comment), so that what they hold is not read as code.
func stripStrings(line string) string {
	var b strings.Builder
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
				b.WriteByte(c)
				continue
			}
			b.WriteByte(' ')
		case c == '"' || c == '\'':
			quote = c
			b.WriteByte(c)
		case c == '-' && i+1 < len(line) && line[i+1] == '-':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unclosedBracket is the innermost { or ( still open before column col of
// line n (1-based), or 0.
func unclosedBracket(lines []string, n, col int) byte {
	var stack []byte
	for i := 0; i < n; i++ {
		code := stripStrings(lines[i])
		if i == n-1 {
			code = stripStrings(lines[i][:col])
		}
		for j := 0; j < len(code); j++ {
			switch code[j] {
			case '{', '(':
				stack = append(stack, code[j])
			case '}', ')':
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
			}
		}
	}
	if len(stack) == 0 {
		return 0
	}
	return stack[len(stack)-1]
}

// endsWithValue says whether the code before column col of line n ends
// with a value (a name, a number, a string, a closing bracket): then the
// token at col starts the next field, and the comma between is missing.
func endsWithValue(lines []string, n, col int) bool {
	for i := n - 1; i >= 0; i-- {
		code := lines[i]
		if i == n-1 {
			code = code[:col]
		}
		code = strings.TrimSpace(stripStrings(code))
		if code == "" {
			continue
		}
		last := code[len(code)-1]
		return last == '"' || last == '\'' || last == ')' || last == '}' || last == ']' ||
			last == '_' || last >= '0' && last <= '9' || last >= 'a' && last <= 'z' || last >= 'A' && last <= 'Z'
	}
	return false
}

// awaitCheck refuses, before it runs, a chunk that assigns await (c =
// await submit{...}): Lua reads it as c = await, a nil global, followed by
// the call as a statement of its own, so c would be nil and the claim
// filed all the same.
func (r *Runtime) awaitCheck(src, name string) error {
	if !strings.Contains(src, "await") || r.L.GetGlobal("await") != lua.LNil {
		return nil
	}
	stmts, err := parse.Parse(strings.NewReader(src), name)
	if err != nil {
		return nil
	}
	var w callWalker
	w.stmts(stmts)
	if len(w.awaits) == 0 || w.locals["await"] {
		return nil
	}
	return &Error{msg: fmt.Sprintf("%s:%d: Lua has no await: a call returns its result at once, so write c = submit{...}. "+
		"As written, c = await sets c to nil (await is no name here) and the call after it runs on its own (nothing ran)", name, w.awaits[0])}
}
