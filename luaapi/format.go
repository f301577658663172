package luaapi

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"claimsctl/streams/claims"

	lua "github.com/yuin/gopher-lua"
)

// Bounds of what formatValue shows, so one print of a huge or deep table
// does not flood the terminal.
const (
	maxShownDepth   = 16  // tables nested deeper show as {...}
	maxShownEntries = 100 // of one table, or of a list of events; then "… and N more"
)

// formatValue renders a value for the REPL: an event as one line, a list
// of events as a count and one line each, other tables as sorted fields.
// A table met again inside itself shows as {...}.
func formatValue(v lua.LValue) string {
	var b strings.Builder
	writeValue(&b, v, 0, map[*lua.LTable]bool{})
	return b.String()
}

func isEvent(t *lua.LTable) bool {
	_, id := t.RawGetString("id").(lua.LString)
	_, typ := t.RawGetString("type").(lua.LString)
	_, claim := t.RawGetString("claim_id").(lua.LString)
	_, bad := t.RawGetString("error").(lua.LString)
	return id && ((typ && claim) || bad)
}

// eventLine is one event on one line, its id padded to idWidth so that a
// list's columns line up (ids in one millisecond grow a digit at -10).
// Its fields may come from another tool's entry, so the line is escaped
// (claims.Printable).
func eventLine(t *lua.LTable, idWidth int) string {
	if e, ok := t.RawGetString("error").(lua.LString); ok {
		return claims.Printable(fmt.Sprintf("%-*s  MALFORMED: %s", idWidth, t.RawGetString("id").String(), string(e)))
	}
	line := fmt.Sprintf("%-*s  %-24s %s  v%s", idWidth, t.RawGetString("id").String(), t.RawGetString("type").String(),
		claims.Short(t.RawGetString("claim_id").String()), t.RawGetString("version").String())
	// Who did it and when: what history() is read for.
	if at, ok := t.RawGetString("occurred_at").(lua.LString); ok && len(at) >= 23 {
		line += "  " + strings.Replace(string(at[:23]), "T", " ", 1)
	}
	if actor, ok := t.RawGetString("actor").(lua.LString); ok && actor != "" {
		line += "  by " + string(actor)
	}
	// A redelivery is worth a mention (recover, a handler that failed);
	// the first delivery of each event is not.
	if d, ok := t.RawGetString("deliveries").(lua.LNumber); ok && d > 1 {
		line += fmt.Sprintf("  (delivered %d times)", int(d))
	}
	return claims.Printable(line)
}

func writeValue(b *strings.Builder, v lua.LValue, depth int, seen map[*lua.LTable]bool) {
	t, ok := v.(*lua.LTable)
	if !ok {
		s, isStr := v.(lua.LString)
		switch {
		case isStr && depth > 0:
			b.WriteString(strconv.Quote(string(s)))
		case isStr:
			// A string on its own keeps its lines; anything else that could
			// drive the terminal (it may come from Redis) is escaped.
			lines := strings.Split(string(s), "\n")
			for i := range lines {
				lines[i] = claims.Printable(lines[i])
			}
			b.WriteString(strings.Join(lines, "\n"))
		default:
			b.WriteString(v.String())
		}
		return
	}
	if seen[t] {
		b.WriteString("{...}")
		return
	}
	seen[t] = true
	defer delete(seen, t)
	if isEvent(t) {
		b.WriteString(eventLine(t, 0))
		return
	}
	n := t.Len()
	if n > 0 && allEvents(t, n) {
		word := "events"
		if n == 1 {
			word = "event"
		}
		fmt.Fprintf(b, "%d %s", n, word)
		width := 0
		for i := 1; i <= min(n, maxShownEntries); i++ {
			width = max(width, len(t.RawGetInt(i).(*lua.LTable).RawGetString("id").String()))
		}
		for i := 1; i <= min(n, maxShownEntries); i++ {
			b.WriteString("\n  " + eventLine(t.RawGetInt(i).(*lua.LTable), width))
		}
		if n > maxShownEntries {
			fmt.Fprintf(b, "\n  … and %d more", n-maxShownEntries)
		}
		return
	}
	if depth > maxShownDepth {
		b.WriteString("{...}")
		return
	}
	var keys []lua.LValue
	t.ForEach(func(k, _ lua.LValue) { keys = append(keys, k) })
	if len(keys) == 0 {
		b.WriteString("{}")
		return
	}
	sort.Slice(keys, func(i, j int) bool {
		ni, iNum := keys[i].(lua.LNumber)
		nj, jNum := keys[j].(lua.LNumber)
		switch {
		case iNum && jNum:
			return ni < nj
		case iNum != jNum:
			return iNum
		}
		return keys[i].String() < keys[j].String()
	})
	more := len(keys) - maxShownEntries
	if more > 0 {
		keys = keys[:maxShownEntries]
	}
	indent := strings.Repeat("  ", depth+1)
	sep := func(i int) {
		if depth == 0 {
			b.WriteString("\n" + indent)
		} else if i > 0 {
			b.WriteString(", ")
		}
	}
	b.WriteString("{")
	for i, k := range keys {
		sep(i)
		if _, isNum := k.(lua.LNumber); !isNum {
			b.WriteString(claims.Printable(k.String()) + " = ")
		}
		writeValue(b, t.RawGet(k), depth+1, seen)
	}
	if more > 0 {
		sep(len(keys))
		fmt.Fprintf(b, "… and %d more", more)
	}
	if depth == 0 {
		b.WriteString("\n")
	}
	b.WriteString("}")
}

func allEvents(t *lua.LTable, n int) bool {
	for i := 1; i <= n; i++ {
		et, ok := t.RawGetInt(i).(*lua.LTable)
		if !ok || !isEvent(et) {
			return false
		}
	}
	return true
}
