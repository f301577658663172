package claims

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text that reaches a terminal or a log line: what stored text may hold,
// and how text from elsewhere (another tool's XADD) is shown safely.

// unsafeRune reports whether r may not appear in the text of an event and
// is escaped when printed: the control characters (C0 including ESC, which
// starts every ANSI escape sequence, DEL and C1), the invisible
// bidirectional controls that make a terminal show text in another order
// than it is stored, and the Unicode line and paragraph separators.
func unsafeRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f', r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	case r == '\u2028', r == '\u2029':
		return true
	}
	return false
}

// Printable returns s as it can be printed on one line of a terminal or a
// log: every control character, bidirectional control and line separator
// is written as its Go escape (\n, \x1b, \u202e), and so is each byte that
// is not UTF-8 (\xff). Text an event may hold (see the text rule of the
// schemas) comes back unchanged.
func Printable(s string) string {
	if printable(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			b.WriteString(escapeRune(r))
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unsafeRune(r) {
			return false
		}
	}
	return true
}

func escapeRune(r rune) string {
	switch r {
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '\v':
		return `\v`
	}
	if r < utf8.RuneSelf {
		return fmt.Sprintf(`\x%02x`, r)
	}
	return fmt.Sprintf(`\u%04x`, r)
}

// textProblem is the rule every text field of an event follows, or "" when
// s keeps it: UTF-8, at most limit characters (Unicode code points, not
// bytes), and nothing unsafeRune refuses.
func textProblem(s string, limit int) string {
	if !utf8.ValidString(s) {
		return "must be UTF-8 text"
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return fmt.Sprintf("must be at most %d characters, got %d", limit, n)
	}
	// Counted by hand: []rune(s) copies a long text to count its runes.
	i := 0
	for _, r := range s {
		if unsafeRune(r) {
			return fmt.Sprintf("must not hold control characters, got %s at character %d", strconv.QuoteRune(r), i+1)
		}
		i++
	}
	return ""
}

// MaxNameLength bounds every id and name a caller chooses (claim ids,
// payment ids, group and consumer names, actors): a uuid is 36.
const MaxNameLength = 64

// The characters of names, besides ASCII letters and digits. Claim ids do
// without ':' so that one never reads as a key separator.
const (
	nameSymbols    = "-_.:@"
	claimIDSymbols = "-_."
)

// NameRule and ClaimIDRule say in words what nameProblem checks.
var (
	NameRule    = fmt.Sprintf("1 to %d characters: letters, digits, %s", MaxNameLength, symbolWords(nameSymbols))
	ClaimIDRule = fmt.Sprintf("1 to %d characters: letters, digits, %s", MaxNameLength, symbolWords(claimIDSymbols))
)

// nameProblem checks an id or a name: 1 to MaxNameLength ASCII letters,
// digits and symbols, so that it is safe in a key name, a log line and a
// terminal. "" means it is fine.
func nameProblem(s, symbols string) string {
	if s == "" {
		return "must not be empty"
	}
	if n := utf8.RuneCountInString(s); n > MaxNameLength {
		return fmt.Sprintf("must be at most %d characters, got %d", MaxNameLength, n)
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(symbols, r)
		if !ok {
			got := strconv.QuoteRune(r)
			if r == utf8.RuneError && size == 1 {
				got = fmt.Sprintf(`byte \x%02x`, s[i])
			}
			return fmt.Sprintf("may hold only letters, digits, %s; got %s", symbolWords(symbols), got)
		}
		i += size
	}
	return ""
}

// symbolWords is "'-', '_', '.' and ':'".
func symbolWords(symbols string) string {
	quoted := make([]string, 0, len(symbols))
	for _, r := range symbols {
		quoted = append(quoted, "'"+string(r)+"'")
	}
	last := len(quoted) - 1
	return strings.Join(quoted[:last], ", ") + " and " + quoted[last]
}

// Quote quotes a value for a message, escaped as Go does and cut to its
// first 40 characters: a 1 MB value does not make a 1 MB error.
func Quote(s string) string {
	const most = 40
	if utf8.RuneCountInString(s) <= most {
		return strconv.Quote(s)
	}
	cut := 0
	for range most {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("… (%d bytes)", len(s))
}
