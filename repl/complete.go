package repl

import (
	"slices"
	"strings"

	"github.com/chzyer/readline"
)

// completer offers the evaluator's names for what is typed before the
// cursor: a global name, a field after "name." (string.fo -> format,
// c.st -> status), a method after "name:" where name holds a string, or
// a string method after a string literal's colon ("%d"):fo. It reads the
// names the session cached between chunks (see session.refreshCompletions)
// because readline calls it from its own goroutine.
type completer struct {
	names func() []string // sorted, without duplicates
}

func (s *session) completer() readline.AutoCompleter {
	return completer{names: func() []string {
		if p := s.names.Load(); p != nil {
			return *p
		}
		return nil
	}}
}

// Do implements readline.AutoCompleter: the candidates are the rest of
// each matching name, and the length is that of the typed part of the
// last name (what the candidates continue).
func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	pos = min(max(pos, 0), len(line))
	before := string(line[:pos])
	typed := before[len(strings.TrimRightFunc(before, isNameRune)):]
	rest := before[:len(before)-len(typed)]
	lookup := typed
	switch {
	case strings.HasSuffix(rest, ".") || strings.HasSuffix(rest, ":"):
		owner, ok := ownerOf(rest[:len(rest)-1], rest[len(rest)-1])
		if !ok {
			return nil, 0
		}
		lookup = owner + typed
	case typed == "" && len(line) > 0:
		// Tab after an operator or in indentation: nothing sensible to
		// offer. Tab on an empty line lists every global.
		return nil, 0
	}
	var out [][]rune
	for _, name := range c.names() {
		// Only the next part of a name: st offers string, not string.format.
		if more, ok := strings.CutPrefix(name, lookup); ok && !strings.ContainsAny(more, ".:") {
			out = append(out, []rune(more))
		}
	}
	return out, len([]rune(typed))
}

// ownerOf is the listed prefix of what comes before the separator sep in
// rest: "c." for c., "s:" for s:, "string." for a string literal's colon.
// ok is false when it is not one the names cover (a.b.c, f().x).
func ownerOf(rest string, sep byte) (string, bool) {
	if sep == ':' && (strings.HasSuffix(rest, `"`) || strings.HasSuffix(rest, `'`) ||
		strings.HasSuffix(rest, `")`) || strings.HasSuffix(rest, `')`)) {
		return "string.", true
	}
	name := rest[len(strings.TrimRightFunc(rest, isNameRune)):]
	before := rest[:len(rest)-len(name)]
	if name == "" || name[0] >= '0' && name[0] <= '9' ||
		strings.HasSuffix(before, ".") || strings.HasSuffix(before, ":") {
		return "", false
	}
	return name + string(sep), true
}

// isNameRune is a rune of a Lua name.
func isNameRune(r rune) bool {
	return r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
}

func sortedUnique(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}
