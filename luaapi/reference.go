package luaapi

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The API reference (docs.go) as help() shows it, as docs/lua-api.md, as
// Tab completion, and as the suggestion for a misspelt name.

// signatureColumn is the width of help()'s signature column.
const signatureColumn = 44

func helpIndex() string {
	var b strings.Builder
	b.WriteString("claimsctl Lua API (help(\"name\") shows one entry with an example)\n")
	for _, m := range reference {
		fmt.Fprintf(&b, "\n%s\n", m.Title)
		for _, d := range m.Funcs {
			if len(d.Signature) > signatureColumn {
				// A long signature gets a line of its own rather than
				// pushing the summary past the terminal's edge.
				fmt.Fprintf(&b, "  %s\n      %s\n", d.Signature, firstSentence(d.Summary))
				continue
			}
			fmt.Fprintf(&b, "  %-*s %s\n", signatureColumn, d.Signature, firstSentence(d.Summary))
		}
	}
	b.WriteString("\nLua 5.1's standard libraries: base, string, table, math, os (without exit),\n" +
		"coroutine, package (require), and an io that only writes to the terminal:\n" +
		"help(\"libraries\") lists them.\n")
	return b.String()
}

// libraryTopics are the names help() takes for the standard libraries.
var libraryTopics = []string{"libraries", "stdlib", "io", "os", "string", "table", "math", "coroutine", "package", "debug"}

// librariesHelp is help("libraries") (help("io") ...), and the section of
// docs/lua-api.md: which of Lua's standard libraries a script has, and
// what is left out or changed, and why.
func librariesHelp() string {
	return `Lua's standard libraries (Lua 5.1, as gopher-lua implements it):
  base       print (tables shown as the REPL shows them), pairs, ipairs, pcall,
             error, assert, tostring, tonumber, type, select, unpack,
             setmetatable, require, dofile, loadstring ...
  string     string.format, :find, :match, :gsub, :sub, :rep ... (Lua patterns)
  table      table.insert, table.remove, table.concat, table.sort
  math       math.floor, math.max, math.random ...
  os         os.time, os.date, os.clock, os.getenv, os.remove, os.rename,
             os.tmpname; os.exit is refused (end a script with return, or
             error(...) to fail)
  coroutine  coroutine.create, coroutine.resume, coroutine.wrap ...
  package    require("lab"), require("claims.produce") ...
  io         writes to the terminal only: io.write(...) where print writes,
             without a newline; io.stdout:write(...); io.stderr:write(...) to
             the error output. io.open, io.read and io.lines are refused:
             report{out=} and trim{archive=} write files, import() reads one.
Not there: debug, and io's files. In the sandbox (claimsctl check, --sandbox)
os.execute and the environment are refused too, and files are written only in
a temp folder (docs/exercises.md).
`
}

// moduleHelp is help("chaos"): a namespaced module's title, what it is
// for, and each entry in full.
func moduleHelp(name string) (string, bool) {
	for _, m := range reference {
		if global, ok := namespaced[m.Module]; !ok || (name != global && name != m.Module) {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s (the table %s, module %s)\n", m.Title, namespaced[m.Module], m.Module)
		for _, d := range m.Funcs {
			b.WriteString("\n" + helpEntry(d))
		}
		return b.String(), true
	}
	return "", false
}

func helpEntry(d apiDoc) string {
	var b strings.Builder
	b.WriteString(d.Signature)
	if d.Returns != "" {
		b.WriteString(" -> " + d.Returns)
	}
	fmt.Fprintf(&b, "\n  %s\n", d.Summary)
	if d.Example != "" {
		fmt.Fprintf(&b, "example:\n  %s\n", strings.ReplaceAll(d.Example, "\n", "\n  "))
	}
	return b.String()
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// MarkdownReference renders the API reference kept in docs/lua-api.md
// (a test checks the file matches; `go test ./luaapi -update` rewrites it).
func MarkdownReference() string {
	modules := make([]string, len(reference))
	for i, m := range reference {
		modules[i] = m.Module
	}
	var b strings.Builder
	b.WriteString(`# claimsctl Lua API

Every function is a global (type ` + "`submit{...}`" + ` at the REPL), but those of claims.chaos, which are
fields of the global table ` + "`chaos`" + ` (` + "`chaos.kill(\"processor\")`" + `); each is also in a module:
` + "`local p = require(\"claims.produce\")`" + ` (modules: ` + strings.Join(modules, ", ") + `).
Options come in one trailing table and unknown option names are refused. Stream ids are strings.
Errors are Lua errors with file:line; catch them with ` + "`pcall`" + `. ` + "`help()`" + ` at the REPL
shows the same text.

This file is generated from luaapi/docs.go: edit there, then run ` + "`go test ./luaapi -update`" + `.
`)
	for _, m := range reference {
		fmt.Fprintf(&b, "\n## %s\n\nModule `%s`.\n", m.Title, m.Module)
		for _, d := range m.Funcs {
			fmt.Fprintf(&b, "\n### `%s`\n\n%s\n", d.Signature, d.Summary)
			if d.Returns != "" {
				fmt.Fprintf(&b, "\nReturns `%s`.\n", d.Returns)
			}
			if d.Example != "" {
				fmt.Fprintf(&b, "\n```lua\n%s\n```\n", d.Example)
			}
		}
	}
	b.WriteString("\n## Lua's standard libraries\n\n`help(\"libraries\")` shows this list at the REPL.\n\n```text\n" + librariesHelp() + "```\n")
	b.WriteString("\n## Validation\n\n" + validationReference())
	return b.String()
}

// What Completions lists is bounded: enough for the API, Lua's libraries
// and a session's own tables, and no more however big a global table
// grows; one big table does not push the libraries out.
const (
	maxCompletions = 1000
	maxFields      = 200 // of one table
)

// Completions are what Tab offers in the REPL, as the expressions a
// student would type: every global name ("submit", "c"), the string keys
// of each global table ("string.format", "c.status"), and the methods of
// each global string ("s:upper"). A string literal's methods are the
// functions listed under "string.".
// The REPL calls it between chunks, on the goroutine that owns the Lua
// state, and completes from the list while the student types.
func (r *Runtime) Completions() []string {
	names := []string{"exit"}
	add := func(name string) bool {
		if len(names) >= maxCompletions {
			return false
		}
		names = append(names, name)
		return true
	}
	globals := r.L.G.Global
	var keys []string
	globals.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); ok && isName(string(s)) {
			keys = append(keys, string(s))
		}
	})
	sort.Strings(keys)
	for _, k := range keys {
		add(k)
	}
	methods := functionKeys(r.stringMethods())
	sort.Strings(methods)
	for _, k := range keys {
		switch v := globals.RawGetString(k).(type) {
		case lua.LString:
			for _, m := range methods {
				add(k + ":" + m)
			}
		case *lua.LTable:
			if v == globals {
				continue // _G: its fields are the globals themselves
			}
			var fields []string
			v.ForEach(func(fk, fv lua.LValue) {
				if s, ok := fk.(lua.LString); ok && isName(string(s)) {
					fields = append(fields, string(s))
				}
			})
			sort.Strings(fields)
			for _, f := range fields[:min(len(fields), maxFields)] {
				add(k + "." + f)
			}
		}
	}
	return names
}

// isName is a Lua name, which is what can follow a dot or a colon.
func isName(s string) bool {
	for i, c := range s {
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

// suggestion names the closest API function for a typo.
func suggestion(name string) string {
	var names []string
	for _, m := range reference {
		for _, d := range m.Funcs {
			names = append(names, d.Name)
		}
	}
	if best := closest(name, names); len(best) > 0 {
		return fmt.Sprintf("Did you mean %s?", strings.Join(best, " or "))
	}
	return "help() lists everything."
}

// closest are the candidates nearest to name, sorted, if any is near
// enough to be a typo of it: one edit for a name of up to four letters
// (so "d" is not taken for "dlq"), two for longer ones. A swap of two
// neighbouring letters counts as one edit (fromat, sumbit).
func closest(name string, candidates []string) []string {
	limit := 2
	if len(name) <= 4 {
		limit = 1
	}
	var best []string
	bestDist := limit + 1
	for _, c := range candidates {
		switch d := editDistance(name, c); {
		case d == 0 || d > limit:
		case d < bestDist:
			best, bestDist = []string{c}, d
		case d == bestDist && !slices.Contains(best, c):
			best = append(best, c)
		}
	}
	slices.Sort(best)
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of adjacent letters.
func editDistance(a, b string) int {
	rows := make([][]int, len(a)+1)
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d := min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d = min(d, rows[i-2][j-2]+1)
			}
			rows[i][j] = d
		}
	}
	return rows[len(a)][len(b)]
}

// redisCommands are the Redis commands a student meets in the lab, each
// with the primitive that sends it for them ("" when none does): help of
// such a name says it is Redis's, to send with redis(), rather than "no
// help" (help("xadd") is what a reader of the lab's redis-cli lines tries).
var redisCommands = map[string]string{
	"XADD": "submit and emit", "XREADGROUP": "consume", "XACK": "ack", "XPENDING": "pending",
	"XAUTOCLAIM": "recover", "XCLAIM": "recover", "XRANGE": "replay and history", "XREVRANGE": "replay",
	"XREAD": "monitor", "XLEN": "info", "XINFO": "info and groups", "XTRIM": "trim", "XDEL": "",
	"XGROUP": "consume (it creates the group)", "XSETID": "",
	"HGETALL": "", "HGET": "", "HSET": "", "HMGET": "", "HINCRBY": "", "GET": "", "SET": "", "DEL": "",
	"EXISTS": "", "TYPE": "", "TTL": "", "EXPIRE": "", "INCR": "", "KEYS": "keys", "SCAN": "keys",
	"LRANGE": "audit_trail", "LPUSH": "", "RPUSH": "", "LLEN": "", "SADD": "", "SMEMBERS": "",
	"ZADD": "", "ZRANGE": "", "PING": "", "INFO": "server", "CONFIG": "server", "EVAL": "", "EVALSHA": "",
	"MULTI": "", "EXEC": "", "WAIT": "", "CLUSTER": "", "MONITOR": "", "PUBLISH": "", "SUBSCRIBE": "",
}

// redisCommandHelp is help() of a Redis command's name, any case.
func redisCommandHelp(name string) (string, bool) {
	cmd := strings.ToUpper(name)
	uses, ok := redisCommands[cmd]
	if !ok {
		return "", false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s is a Redis command, not a function of claimsctl: send it as redis-cli would with redis(), e.g.\n", cmd)
	switch {
	case strings.HasPrefix(cmd, "X"):
		fmt.Fprintf(&b, "  redis(%q, key(\"claims:events\"), ...)\n", cmd)
		b.WriteString("with each key in key(), which adds --prefix and a partition's tag; help(\"redis\") shows more.\n")
	case strings.HasPrefix(cmd, "H"):
		fmt.Fprintf(&b, "  redis(%q, key(\"policy:POL-0001\"), ...)\n", cmd)
		b.WriteString("with each key in key(), which adds --prefix and a partition's tag; help(\"redis\") shows more.\n")
	default:
		fmt.Fprintf(&b, "  redis(%q, ...)   (help(\"redis\") shows more)\n", cmd)
	}
	if uses != "" {
		fmt.Fprintf(&b, "The lab's primitive that sends it for you: %s (see help(%q)); trace(true) shows what each one sends.\n", uses, strings.Fields(uses)[0])
	}
	return b.String(), true
}
