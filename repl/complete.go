package repl

import (
	"slices"
	"unicode"

	"github.com/chzyer/readline"
)

// completer offers the evaluator's names for the identifier before the
// cursor. It reads the names the session cached between chunks (see
// session.refreshCompletions) because readline calls it from its own
// goroutine.
type completer struct {
	names func() []string
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
// each matching name, and the length is that of the typed prefix.
func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	pos = min(max(pos, 0), len(line))
	start := pos
	for start > 0 && isNameRune(line[start-1]) {
		start--
	}
	prefix := string(line[start:pos])
	if prefix == "" && len(line) > 0 {
		// Tab after an operator or in indentation: nothing sensible to
		// offer. Tab on an empty line lists the whole API.
		return nil, 0
	}
	var out [][]rune
	for _, name := range sortedUnique(c.names()) {
		if len(name) >= len(prefix) && name[:len(prefix)] == prefix {
			out = append(out, []rune(name[len(prefix):]))
		}
	}
	return out, len([]rune(prefix))
}

// isNameRune is a rune of a Lua name, or the dot of a module field
// (string.format), so help topics with a dot complete too.
func isNameRune(r rune) bool {
	return r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func sortedUnique(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}
