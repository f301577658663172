// Package dashboard draws the analytics report (lab steps 8 and 10) as
// text with bar charts, and redraws it until cancelled. It knows neither
// the store nor Lua: the caller says where each frame's report comes from,
// so `claimsctl dashboard` and Lua's dashboard() share one renderer.
//
// It may import streams/claims only: it draws a report it is handed.
package dashboard

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"claimsctl/streams/claims"
)

const (
	// DefaultWidth is the width of a dashboard drawn with width 0.
	DefaultWidth = 80
	// MinWidth is the narrowest dashboard: every line fits in it.
	MinWidth   = 60
	hoursShown = 12
)

// ANSI styles of the coloured dashboard.
const (
	ansiBold     = "1"
	ansiHeading  = "1;36"
	ansiBar      = "36"
	ansiOpen     = "33"
	ansiResolved = "32"
	ansiDim      = "2"
)

// Render draws a report as text: title, totals, and bar charts of
// the status distribution (lifecycle order), claim types, claims per hour
// (the last 12 hours that had claims) and adjuster workload. Without
// colour it is plain ASCII with '#' bars and no escape codes at all.
func Render(r claims.Report, width int, color bool) string {
	if width <= 0 {
		width = DefaultWidth
	}
	width = max(width, MinWidth)
	st := style{color: color}
	var b strings.Builder

	title := "Claims dashboard"
	when := r.GeneratedAt.UTC().Format("2006-01-02 15:04:05 UTC")
	gap := max(width-len(title)-len(when), 2)
	b.WriteString(st.paint(ansiBold, title) + strings.Repeat(" ", gap) + when + "\n")
	rule := "="
	if color {
		rule = "─"
	}
	b.WriteString(st.paint(ansiDim, strings.Repeat(rule, width)) + "\n")

	counts := []string{fmt.Sprintf("claims %d", r.Claims), fmt.Sprintf("events %d", r.Events)}
	if r.Malformed > 0 {
		counts = append(counts, fmt.Sprintf("malformed %d", r.Malformed))
	}
	if r.OutOfOrderEvents > 0 {
		counts = append(counts, fmt.Sprintf("not folded %d", r.OutOfOrderEvents))
	}
	b.WriteString(strings.Join(counts, "   ") + "\n")
	if r.OutOfOrderEvents > 0 {
		b.WriteString(st.paint(ansiDim, "(not folded: earlier events of their claims are gone)") + "\n")
	}
	if r.Claims == 0 {
		if r.Events > 0 || r.OutOfOrderEvents > 0 {
			b.WriteString("\nNo claim has all its events in the stream (trimmed?): submit one.\n")
		} else {
			b.WriteString("\nNo claims yet: submit{...} one (or run a lab step) and the charts appear here.\n")
		}
		return b.String()
	}

	b.WriteString("\n")
	amounts := []struct {
		name string
		a    claims.AmountStats
	}{{"claimed", r.Claimed}, {"approved", r.Approved}, {"paid", r.Paid}}
	fmt.Fprintf(&b, "  %-9s %5s %16s %14s\n", "amounts", "count", "total", "average")
	for _, a := range amounts {
		fmt.Fprintf(&b, "  %-9s %5d %16s %14s\n", a.name, a.a.Count, money(a.a.Total), money(a.a.Average))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "  approval rate %s\n", approvalRate(r))
	fmt.Fprintf(&b, "  avg processing %s   avg resolution %s\n", HumanSeconds(r.AvgProcessingSec), HumanSeconds(r.AvgResolutionSec))

	var rows []barRow
	for _, s := range statusOrder(r.ByStatus) {
		n := r.ByStatus[s]
		rows = append(rows, barRow{label: s, value: strconv.Itoa(n), parts: []int{n}})
	}
	chart(&b, st, width, "Status", rows, []barPart{{'#', ansiBar}})

	rows = rows[:0]
	for _, t := range byCount(r.ByClaimType) {
		n := r.ByClaimType[t]
		rows = append(rows, barRow{label: t, value: strconv.Itoa(n), parts: []int{n}})
	}
	chart(&b, st, width, "Claims by type", rows, []barPart{{'#', ansiBar}})

	hours := r.ClaimsPerHour
	if len(hours) > hoursShown {
		hours = hours[len(hours)-hoursShown:]
	}
	rows = rows[:0]
	for _, h := range hours {
		rows = append(rows, barRow{label: hourLabel(h.Hour), value: strconv.Itoa(h.Claims), parts: []int{h.Claims}})
	}
	chart(&b, st, width, fmt.Sprintf("Claims per hour (UTC, last %d hours with claims)", hoursShown), rows, []barPart{{'#', ansiBar}})

	rows = rows[:0]
	for _, a := range r.AdjusterWorkload {
		rows = append(rows, barRow{label: a.Adjuster, value: fmt.Sprintf("%d/%d", a.Open, a.Resolved), parts: []int{a.Open, a.Resolved}})
	}
	legend := "Adjuster workload (open/resolved: # open, = resolved)"
	if color {
		legend = "Adjuster workload (open/resolved: " + st.paint(ansiOpen, "█") + " open, " + st.paint(ansiResolved, "█") + " resolved)"
	}
	chart(&b, st, width, legend, rows, []barPart{{'#', ansiOpen}, {'=', ansiResolved}})
	return b.String()
}

// style applies ANSI codes only when colour is on.
type style struct{ color bool }

func (s style) paint(code, text string) string {
	if !s.color || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

type barRow struct {
	label, value string
	parts        []int // stacked segments, drawn left to right
}

type barPart struct {
	ascii rune   // the bar character without colour
	code  string // its ANSI colour
}

// chart draws one titled horizontal bar chart. Bars scale to the largest
// row and fill the width left after the label and value columns; a
// non-zero segment is at least one character, so small counts still show.
func chart(b *strings.Builder, st style, width int, title string, rows []barRow, parts []barPart) {
	b.WriteString("\n" + st.paint(ansiHeading, title) + "\n")
	if len(rows) == 0 {
		b.WriteString("  (none)\n")
		return
	}
	labelW, valueW, most := 0, 0, 0
	for i := range rows {
		// Labels (adjusters, claim types) come from events: shown escaped.
		rows[i].label = claims.Printable(rows[i].label)
	}
	for _, r := range rows {
		labelW = max(labelW, len(r.label))
		valueW = max(valueW, len(r.value))
		total := 0
		for _, p := range r.parts {
			total += p
		}
		most = max(most, total)
	}
	labelW = min(labelW, 24)
	barW := max(width-2-labelW-1-valueW-2, 10)
	for _, r := range rows {
		label := r.label
		if len(label) > labelW {
			label = label[:labelW]
		}
		fmt.Fprintf(b, "  %-*s %*s", labelW, label, valueW, r.value)
		var bar strings.Builder
		for i, cells := range barCells(r.parts, most, barW) {
			if cells == 0 {
				continue
			}
			p := parts[min(i, len(parts)-1)]
			if st.color {
				bar.WriteString(st.paint(p.code, strings.Repeat("█", cells)))
			} else {
				bar.WriteString(strings.Repeat(string(p.ascii), cells))
			}
		}
		if bar.Len() > 0 {
			b.WriteString("  " + bar.String())
		}
		b.WriteString("\n")
	}
}

// barCells scales the segments of one bar to at most width cells, the
// largest total filling it. A non-zero segment gets at least one cell so a
// small count still shows; what that and rounding add beyond the width is
// taken back from the longest segment.
func barCells(segments []int, most, width int) []int {
	cells := make([]int, len(segments))
	if most <= 0 {
		return cells
	}
	total, longest := 0, 0
	for i, n := range segments {
		if n > 0 {
			cells[i] = max(int(math.Round(float64(n)*float64(width)/float64(most))), 1)
		}
		total += cells[i]
		if cells[i] > cells[longest] {
			longest = i
		}
	}
	if total > width {
		cells[longest] -= total - width
	}
	return cells
}

// statusOrder lists every status in lifecycle order, then any status the
// report has that the lifecycle does not name (none today).
func statusOrder(by map[string]int) []string {
	var out []string
	known := map[string]bool{}
	for _, s := range claims.Statuses {
		out = append(out, string(s))
		known[string(s)] = true
	}
	var extra []string
	for s := range by {
		if !known[s] {
			extra = append(extra, s)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

// byCount orders keys by count, most first, then by name.
func byCount(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

// hourLabel shortens "2026-11-25T10:00Z" to "11-25 10:00".
func hourLabel(h string) string {
	t, err := time.Parse("2006-01-02T15:04Z", h)
	if err != nil {
		return h
	}
	return t.Format("01-02 15:04")
}

// approvalRate is "-" when nothing was decided yet: 0% would be a lie.
func approvalRate(r claims.Report) string {
	decided := 0
	for _, s := range []claims.Status{claims.StatusApproved, claims.StatusRejected, claims.StatusPaymentInitiated, claims.StatusPaid} {
		decided += r.ByStatus[string(s)]
	}
	if decided == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", r.ApprovalRate*100)
}
