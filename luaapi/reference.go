package luaapi

import (
	"fmt"
	"sort"
	"strings"
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
	return b.String()
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

Every function is a global (type ` + "`submit{...}`" + ` at the REPL) and is also in a module:
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
	b.WriteString("\n## Validation\n\n" + validationReference())
	return b.String()
}

// Completions are the names offered on Tab in the REPL.
func (r *Runtime) Completions() []string {
	names := []string{"exit"}
	for _, m := range reference {
		for _, d := range m.Funcs {
			names = append(names, d.Name)
		}
	}
	sort.Strings(names)
	return names
}

// suggestion names the closest API function for a typo.
func suggestion(name string) string {
	best, bestDist := "", 3 // at most two edits away
	for _, m := range reference {
		for _, d := range m.Funcs {
			if dist := levenshtein(name, d.Name); dist < bestDist {
				best, bestDist = d.Name, dist
			}
		}
	}
	if best != "" {
		return fmt.Sprintf("Did you mean %s?", best)
	}
	return "help() lists everything."
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
