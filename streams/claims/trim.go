package claims

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// TrimOptions choose what a trim removes: everything but the newest
// MaxLen entries, or every entry whose id is below Before.
type TrimOptions struct {
	// Stream is the key to trim ("" means the event streams: every
	// partition's).
	Stream string
	// MaxLen, when not nil, keeps the newest *MaxLen entries (of each
	// stream: XTRIM works on one stream at a time).
	MaxLen *int64
	// Before is a stream id; entries below it go. A time maps to
	// IDAt(time), the first id of that millisecond.
	Before string
}

// GroupRisk is what trimming would take from one consumer group: entries
// it holds pending (delivered, not acked) and entries it has not read yet.
type GroupRisk struct {
	Group   string
	Pending int64
	Unread  int64
}

// AtRisk reports whether the group would lose work to the trim.
func (g GroupRisk) AtRisk() bool { return g.Pending > 0 || g.Unread > 0 }

// GroupPosition is a consumer group as a plan finds it: its name and the
// last entry it handed to a consumer ("" or "0-0": none yet).
type GroupPosition struct {
	Name          string
	LastDelivered string
}

// StreamTrim is what a trim would take from one stream. It is counted in
// one pass over the entries that would go (Add, AddPending), so a plan
// costs the same memory however many entries it covers.
type StreamTrim struct {
	Stream string
	Length int64 // the stream's length when planned
	Count  int64 // how many entries would go
	// FirstID and LastID bound the entries that would go ("" when none).
	FirstID, LastID string
	// FirstAt and LastAt are the occurred_at of the first and last entry
	// that would go (zero when those entries carry none).
	FirstAt, LastAt time.Time
	Groups          []GroupRisk // every group of the stream, by name
	lastDelivered   []string    // Groups[i]'s position
}

// NewStreamTrim starts the plan of one stream of length entries whose
// groups are at these positions.
func NewStreamTrim(stream string, length int64, groups []GroupPosition) *StreamTrim {
	gs := append([]GroupPosition(nil), groups...)
	sort.Slice(gs, func(a, b int) bool { return gs[a].Name < gs[b].Name })
	st := &StreamTrim{Stream: stream, Length: length, Groups: make([]GroupRisk, len(gs)), lastDelivered: make([]string, len(gs))}
	for i, g := range gs {
		st.Groups[i].Group, st.lastDelivered[i] = g.Name, g.LastDelivered
	}
	return st
}

// Add counts one entry that would go. Entries come oldest first; an entry
// past a group's last-delivered-id was never handed to its consumers, so
// it is unread.
func (st *StreamTrim) Add(id string, occurredAt time.Time) {
	if st.Count == 0 {
		st.FirstID, st.FirstAt = id, occurredAt
	}
	st.LastID, st.LastAt = id, occurredAt
	st.Count++
	for i, last := range st.lastDelivered {
		if last == "" || CompareIDs(id, last) > 0 {
			st.Groups[i].Unread++
		}
	}
}

// AddPending counts the ids a group holds pending among page, the ids of
// entries that would go; both lists ascend. A pending id that is not in
// page (its entry was deleted before) is not taken by this trim.
func (st *StreamTrim) AddPending(group string, page, pending []string) {
	i := sort.Search(len(st.Groups), func(i int) bool { return st.Groups[i].Group >= group })
	if i == len(st.Groups) || st.Groups[i].Group != group {
		return
	}
	for p, q := 0, 0; p < len(page) && q < len(pending); {
		switch c := CompareIDs(page[p], pending[q]); {
		case c == 0:
			st.Groups[i].Pending++
			p++
			q++
		case c < 0:
			p++
		default:
			q++
		}
	}
}

// Remaining is how many entries stay.
func (st *StreamTrim) Remaining() int64 { return max(st.Length-st.Count, 0) }

// MinID is the XTRIM MINID threshold that removes exactly the planned
// entries: the id right after the last of them. Trimming by it instead of
// by MAXLEN means an event appended between planning and trimming is never
// removed without having been archived and checked.
func (st *StreamTrim) MinID() string {
	if st.Count == 0 {
		return ""
	}
	return NextID(st.LastID)
}

// AtRisk lists the groups that still have pending or unread entries among
// those that would go.
func (st *StreamTrim) AtRisk() []GroupRisk {
	var out []GroupRisk
	for _, g := range st.Groups {
		if g.AtRisk() {
			out = append(out, g)
		}
	}
	return out
}

// Warnings are one sentence per group at risk.
func (st *StreamTrim) Warnings() []string {
	var out []string
	for _, g := range st.AtRisk() {
		out = append(out, fmt.Sprintf("group %s still has %s of the %d entries to remove", g.Group, riskWords(g), st.Count))
	}
	return out
}

func riskWords(g GroupRisk) string {
	var parts []string
	if g.Pending > 0 {
		parts = append(parts, fmt.Sprintf("%d pending (delivered, not acked)", g.Pending))
	}
	if g.Unread > 0 {
		parts = append(parts, fmt.Sprintf("%d unread", g.Unread))
	}
	return strings.Join(parts, " and ")
}

// TrimPlan is what a trim would do, computed before anything is removed:
// one StreamTrim per stream it covers (each partition's event stream, or
// the one stream named).
type TrimPlan struct {
	Options TrimOptions
	Streams []*StreamTrim // in partition order
}

// Name is what the plan trims: its stream, or every partition.
func (p *TrimPlan) Name() string {
	if len(p.Streams) == 1 {
		return p.Streams[0].Stream
	}
	return "every partition"
}

// Count is how many entries the trim would remove.
func (p *TrimPlan) Count() int64 {
	var n int64
	for _, st := range p.Streams {
		n += st.Count
	}
	return n
}

// Length is how many entries the streams held when planned.
func (p *TrimPlan) Length() int64 {
	var n int64
	for _, st := range p.Streams {
		n += st.Length
	}
	return n
}

// Remaining is how many entries stay.
func (p *TrimPlan) Remaining() int64 { return max(p.Length()-p.Count(), 0) }

// Span is the earliest and latest occurred_at of the entries that would
// go, over every stream (zero when none is known).
func (p *TrimPlan) Span() (first, last time.Time) {
	for _, st := range p.Streams {
		if !st.FirstAt.IsZero() && (first.IsZero() || st.FirstAt.Before(first)) {
			first = st.FirstAt
		}
		if st.LastAt.After(last) {
			last = st.LastAt
		}
	}
	return first, last
}

// Groups sums each group's risk over the streams, by name.
func (p *TrimPlan) Groups() []GroupRisk {
	sums := map[string]GroupRisk{}
	for _, st := range p.Streams {
		for _, g := range st.Groups {
			sum := sums[g.Group]
			sum.Group = g.Group
			sum.Pending += g.Pending
			sum.Unread += g.Unread
			sums[g.Group] = sum
		}
	}
	out := make([]GroupRisk, 0, len(sums))
	for _, g := range sums {
		out = append(out, g)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Group < out[b].Group })
	return out
}

// AtRisk lists the streams where some group would lose pending or unread
// entries.
func (p *TrimPlan) AtRisk() []*StreamTrim {
	var out []*StreamTrim
	for _, st := range p.Streams {
		if len(st.AtRisk()) > 0 {
			out = append(out, st)
		}
	}
	return out
}

// Warnings are one sentence per group at risk, naming its stream when the
// plan covers several.
func (p *TrimPlan) Warnings() []string {
	var out []string
	for _, st := range p.Streams {
		for _, w := range st.Warnings() {
			if len(p.Streams) > 1 {
				w = st.Stream + ": " + w
			}
			out = append(out, w)
		}
	}
	return out
}

// Describe is the plan in words, one line each, as a dry run prints it:
// for one stream its figures, for several (partitions) the total, then a
// line per stream.
func (p *TrimPlan) Describe() string {
	if len(p.Streams) == 1 {
		return p.describeOne(p.Streams[0])
	}
	var b strings.Builder
	what := p.what()
	if p.Count() == 0 {
		fmt.Fprintf(&b, "trim %s (%s): nothing to remove (%d entries)\n", p.Name(), what, p.Length())
		return b.String()
	}
	fmt.Fprintf(&b, "trim %s (%s): %d of %d entries would go, %d stay\n", p.Name(), what, p.Count(), p.Length(), p.Remaining())
	for _, st := range p.Streams {
		if st.Count == 0 {
			fmt.Fprintf(&b, "  %s: nothing to remove (%d entries)\n", st.Stream, st.Length)
			continue
		}
		fmt.Fprintf(&b, "  %s: %d of %d go, %d stay, ids %s .. %s\n", st.Stream, st.Count, st.Length, st.Remaining(), st.FirstID, st.LastID)
	}
	if first, last := p.Span(); !first.IsZero() && !last.IsZero() {
		fmt.Fprintf(&b, "  occurred %s .. %s\n", first.Format(TimeLayout), last.Format(TimeLayout))
	}
	for _, w := range groupWarnings(p.Streams, len(p.Streams)) {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	return b.String()
}

// groupWarnings are, for a plan over several streams, one sentence per
// group at risk, its figures summed over the streams and where they are:
// a line per group and partition repeats the same warning six times on a
// cluster's six partitions (issue 19). of is how many streams the plan
// covers.
func groupWarnings(streams []*StreamTrim, of int) []string {
	type risk struct {
		GroupRisk
		in []string
	}
	var order []string
	sums := map[string]*risk{}
	for _, st := range streams {
		for _, g := range st.AtRisk() {
			r, ok := sums[g.Group]
			if !ok {
				r = &risk{GroupRisk: GroupRisk{Group: g.Group}}
				sums[g.Group] = r
				order = append(order, g.Group)
			}
			r.Pending += g.Pending
			r.Unread += g.Unread
			r.in = append(r.in, st.Stream)
		}
	}
	sort.Strings(order)
	of = max(of, len(streams))
	out := make([]string, 0, len(order))
	for _, name := range order {
		r := sums[name]
		where := "in " + strings.Join(r.in, " and ")
		switch {
		case len(r.in) == of && of > 2:
			where = fmt.Sprintf("in all %d partitions", of)
		case len(r.in) > 2:
			where = fmt.Sprintf("in %d of the %d partitions", len(r.in), of)
		}
		out = append(out, fmt.Sprintf("group %s still has %s %s", r.Group, riskWords(r.GroupRisk), where))
	}
	return out
}

func (p *TrimPlan) describeOne(st *StreamTrim) string {
	var b strings.Builder
	what := p.what()
	if st.Count == 0 {
		fmt.Fprintf(&b, "trim %s (%s): nothing to remove (%d entries)\n", st.Stream, what, st.Length)
		return b.String()
	}
	fmt.Fprintf(&b, "trim %s (%s): %d of %d entries would go, %d stay\n", st.Stream, what, st.Count, st.Length, st.Remaining())
	fmt.Fprintf(&b, "  ids %s .. %s", st.FirstID, st.LastID)
	if !st.FirstAt.IsZero() && !st.LastAt.IsZero() {
		fmt.Fprintf(&b, ", occurred %s .. %s", st.FirstAt.Format(TimeLayout), st.LastAt.Format(TimeLayout))
	}
	b.WriteString("\n")
	for _, w := range st.Warnings() {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	return b.String()
}

// what says what the options remove; with several streams it says that
// maxlen counts in each of them.
func (p *TrimPlan) what() string {
	n := len(p.Streams)
	keep := p.Options.MaxLen
	switch {
	case keep == nil && n > 1:
		return fmt.Sprintf("entries below %s, in each of the %d partitions", p.Options.Before, n)
	case keep == nil:
		return "entries below " + p.Options.Before
	case *keep == 0 && n > 1:
		return fmt.Sprintf("every entry of each of the %d partitions", n)
	case *keep == 0:
		return "every entry"
	case *keep == 1 && n > 1:
		return fmt.Sprintf("keeps the newest entry of each of the %d partitions", n)
	case *keep == 1:
		return "all but the newest entry"
	case n > 1:
		return fmt.Sprintf("keeps the newest %d of each of the %d partitions", *keep, n)
	}
	return fmt.Sprintf("all but the newest %d entries", *keep)
}
