package repl

import (
	"fmt"
	"strings"

	"claimsctl/streams/claims"
	"claimsctl/streams/streamview"
)

// ANSI styles of the state view. Kept to three so the view reads the same
// on a dark or a light terminal.
const (
	styleChanged = "\x1b[1;33m" // bold yellow: this line changed since the last view
	styleDim     = "\x1b[2m"    // notes that carry no data
	styleReset   = "\x1b[0m"
)

// minKeyWidth is the narrowest key column, so that the lab's usual view
// (claims:events and its groups) keeps one layout as streams appear.
const minKeyWidth = 14

const lagFootnote = "* lag counted from the stream (the server reports none, or a stale figure)"

// viewLine is one line of the state view before styling. Lines are built
// first and styled last so that the plain and the colour forms can never
// disagree about what changed.
type viewLine struct {
	indent  int // 2 for a stream, 4 for a group
	text    string
	changed bool
	note    bool // a footnote or a remark: dim, never marked
}

// RenderState renders the state view of cur, marking what changed since
// prev. A nil prev renders the full view with nothing marked (the first
// view of a session); a nil cur renders nothing.
//
// When something changed, every existing stream and group is shown, so the
// student always sees the whole picture; a changed line carries its deltas
// in parentheses ("len 12 (+3)"), "(new)" when it appeared, and is marked:
// with "* " in the first column in plain text, highlighted in colour. When
// nothing changed the view is the single line "  (no change)", which keeps
// transcripts of read-only commands short.
func RenderState(prev, cur *streamview.State, color bool) string {
	if cur == nil {
		return ""
	}
	lines := diffLines(prev, cur)
	changed := false
	for _, l := range lines {
		changed = changed || l.changed
	}
	if prev != nil && !changed {
		lines = []viewLine{{indent: 2, text: "(no change)", note: true}}
	} else if len(lines) == 0 {
		lines = []viewLine{{indent: 2, text: "(no streams yet)", note: true}}
	}
	if changed || prev == nil {
		if anyLagCounted(cur) && !anyLagCounted(prev) {
			// Explain the marker once, the first time it shows, rather
			// than on every view of an embedded server (where lag is
			// always counted).
			lines = append(lines, viewLine{indent: 4, text: lagFootnote, note: true})
		}
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(styleLine(l, color))
		b.WriteByte('\n')
	}
	return b.String()
}

// styleLine indents a line and marks it: "* " replaces the first two
// spaces of a changed line in plain text, so the marker sits in a column of
// its own and the layout of changed and unchanged lines is the same.
func styleLine(l viewLine, color bool) string {
	pad := strings.Repeat(" ", l.indent)
	// Stream, group and consumer names come from Redis: shown escaped.
	l.text = claims.Printable(l.text)
	switch {
	case color && l.note:
		return pad + styleDim + l.text + styleReset
	case color && l.changed:
		return pad + styleChanged + l.text + styleReset
	case l.changed:
		return "* " + pad[2:] + l.text
	default:
		return pad + l.text
	}
}

// diffLines builds the lines of every stream that exists in cur, and of
// those that existed in prev and are gone (DEL of a stream, XGROUP
// DESTROY), which count as changes.
func diffLines(prev, cur *streamview.State) []viewLine {
	width := keyWidth(prev, cur)
	var lines []viewLine
	for _, ss := range cur.Streams {
		ps := existing(prev, ss.Key)
		if !ss.Exists {
			if ps != nil {
				lines = append(lines, goneLine(2, ss.Key, width))
			}
			continue
		}
		lines = append(lines, streamLine(prev != nil, ps, &ss, width))
		for _, g := range ss.Groups {
			var pg *streamview.GroupState
			if ps != nil {
				pg = ps.Group(g.Name)
			}
			lines = append(lines, groupLine(prev != nil, pg, &g, width))
		}
		if ps != nil {
			for _, pg := range ps.Groups {
				if ss.Group(pg.Name) == nil {
					lines = append(lines, goneLine(4, pg.Name, width))
				}
			}
		}
	}
	if prev != nil {
		// A key the previous snapshot had and this one does not list at
		// all: only if the key layout changed between snapshots.
		for _, ps := range prev.Streams {
			if ps.Exists && cur.Stream(ps.Key) == nil {
				lines = append(lines, goneLine(2, ps.Key, width))
			}
		}
	}
	return lines
}

// streamLine renders "claims:events   len 12 (+3)  last 1795597353284-2".
// hasPrev tells a stream that is new (there was a previous view without
// it) from the first view (nothing to compare with).
func streamLine(hasPrev bool, ps, ss *streamview.StreamState, width int) viewLine {
	body := func(s *streamview.StreamState, delta string) string {
		return fmt.Sprintf("%-*s  len %d%s  last %s", width, s.Key, s.Length, delta, orDash(s.LastID))
	}
	if ps == nil {
		l := viewLine{indent: 2, text: body(ss, "")}
		if hasPrev {
			l.text += "  (new)"
			l.changed = true
		}
		return l
	}
	return viewLine{
		indent:  2,
		text:    body(ss, delta(ps.Length, ss.Length)),
		changed: body(ps, "") != body(ss, ""),
	}
}

// groupLine renders
// "processors    pending 2 (+2)  lag 0 (-3)  consumers w1(2) w2(0)".
func groupLine(hasPrev bool, pg, g *streamview.GroupState, width int) viewLine {
	body := func(g *streamview.GroupState, pendingDelta, lagDelta string) string {
		retries := ""
		if g.Retries > 0 {
			// Handed back by retry_dlq, in claims:retry:<group>.
			retries = fmt.Sprintf("  retries %d", g.Retries)
		}
		return fmt.Sprintf("%-*s  pending %d%s  lag %s%s%s  consumers %s",
			width-2, g.Name, g.Pending, pendingDelta, lagText(g), lagDelta, retries, consumersText(g.Consumers))
	}
	if pg == nil {
		l := viewLine{indent: 4, text: body(g, "", "")}
		if hasPrev {
			l.text += "  (new)"
			l.changed = true
		}
		return l
	}
	lagDelta := ""
	if !pg.LagCapped && !g.LagCapped {
		// A capped count is a lower bound: a difference of two is not a delta.
		lagDelta = delta(pg.Lag, g.Lag)
	}
	return viewLine{
		indent:  4,
		text:    body(g, delta(pg.Pending, g.Pending), lagDelta),
		changed: body(pg, "", "") != body(g, "", ""),
	}
}

func goneLine(indent int, name string, width int) viewLine {
	return viewLine{indent: indent, text: fmt.Sprintf("%-*s  (gone)", width-(indent-2), name), changed: true}
}

// lagText is the lag as the view shows it: "10000+" when the count hit
// its limit, with "*" when it was counted rather than reported.
func lagText(g *streamview.GroupState) string {
	s := fmt.Sprint(g.Lag)
	if g.LagCapped {
		s += "+"
	}
	if g.LagCounted {
		s += "*"
	}
	return s
}

// consumersText is "w1(2) w2(0, idle)": each consumer with its pending
// count, which is what a student looks at after consume, ack and recover,
// and "idle" when it has been idle for streams.LongIdle.
func consumersText(cs []streamview.ConsumerState) string {
	if len(cs) == 0 {
		return "-"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s(%d)", c.Name, c.Pending)
		if c.LongIdle() {
			parts[i] = fmt.Sprintf("%s(%d, idle)", c.Name, c.Pending) // gone? forget_consumers removes it
		}
	}
	return strings.Join(parts, " ")
}

func delta(before, after int64) string {
	if after == before {
		return ""
	}
	return fmt.Sprintf(" (%+d)", after-before)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// existing is the stream of st with that key if it exists.
func existing(st *streamview.State, key string) *streamview.StreamState {
	if st == nil {
		return nil
	}
	if ss := st.Stream(key); ss != nil && ss.Exists {
		return ss
	}
	return nil
}

// keyWidth is the width of the key column: group names are indented two
// more, so a group's figures line up with its stream's.
func keyWidth(states ...*streamview.State) int {
	w := minKeyWidth
	for _, st := range states {
		if st == nil {
			continue
		}
		for _, ss := range st.Streams {
			if !ss.Exists {
				continue
			}
			w = max(w, len(ss.Key))
			for _, g := range ss.Groups {
				w = max(w, len(g.Name)+2)
			}
		}
	}
	return w
}

func anyLagCounted(st *streamview.State) bool {
	if st == nil {
		return false
	}
	for _, ss := range st.Streams {
		if !ss.Exists {
			continue
		}
		for _, g := range ss.Groups {
			if g.LagCounted {
				return true
			}
		}
	}
	return false
}
