package claims

import (
	"fmt"
	"strings"
	"time"
)

// TrimOptions choose what a trim removes: everything but the newest
// MaxLen entries, or every entry whose id is below Before.
type TrimOptions struct {
	// Stream is the key to trim ("" means claims:events).
	Stream string
	// MaxLen, when not nil, keeps the newest *MaxLen entries.
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

// TrimPlan is what a trim would do, computed before anything is removed.
type TrimPlan struct {
	Stream  string
	Options TrimOptions
	Length  int64          // the stream's length when planned
	Entries []ArchiveEntry // what would go, oldest first
	// FirstAt and LastAt are the occurred_at of the first and last entry
	// that would go (zero when those entries carry none).
	FirstAt, LastAt time.Time
	Groups          []GroupRisk // every group of the stream, by name
}

// Count is how many entries the trim would remove.
func (p *TrimPlan) Count() int { return len(p.Entries) }

// FirstID and LastID bound the entries that would go ("" when none).
func (p *TrimPlan) FirstID() string {
	if len(p.Entries) == 0 {
		return ""
	}
	return p.Entries[0].ID
}

// LastID is the newest entry that would go.
func (p *TrimPlan) LastID() string {
	if len(p.Entries) == 0 {
		return ""
	}
	return p.Entries[len(p.Entries)-1].ID
}

// MinID is the XTRIM MINID threshold that removes exactly the planned
// entries: the id right after the last of them. Trimming by it instead of
// by MAXLEN means an event appended between planning and trimming is never
// removed without having been archived and checked.
func (p *TrimPlan) MinID() string {
	if len(p.Entries) == 0 {
		return ""
	}
	return NextID(p.LastID())
}

// AtRisk lists the groups that still have pending or unread entries among
// those that would go.
func (p *TrimPlan) AtRisk() []GroupRisk {
	var out []GroupRisk
	for _, g := range p.Groups {
		if g.AtRisk() {
			out = append(out, g)
		}
	}
	return out
}

// Warnings are one sentence per group at risk.
func (p *TrimPlan) Warnings() []string {
	var out []string
	for _, g := range p.AtRisk() {
		out = append(out, fmt.Sprintf("group %s still has %s of the %d entries to remove",
			g.Group, riskWords(g), p.Count()))
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

// Describe is the plan in words, one line each, as a dry run prints it.
func (p *TrimPlan) Describe() string {
	var b strings.Builder
	what := "entries below " + p.Options.Before
	if keep := p.Options.MaxLen; keep != nil {
		switch *keep {
		case 0:
			what = "every entry"
		case 1:
			what = "all but the newest entry"
		default:
			what = fmt.Sprintf("all but the newest %d entries", *keep)
		}
	}
	if p.Count() == 0 {
		fmt.Fprintf(&b, "trim %s (%s): nothing to remove (%d entries)\n", p.Stream, what, p.Length)
		return b.String()
	}
	fmt.Fprintf(&b, "trim %s (%s): %d of %d entries would go, %d stay\n", p.Stream, what, p.Count(), p.Length, p.Length-int64(p.Count()))
	fmt.Fprintf(&b, "  ids %s .. %s", p.FirstID(), p.LastID())
	if !p.FirstAt.IsZero() && !p.LastAt.IsZero() {
		fmt.Fprintf(&b, ", occurred %s .. %s", p.FirstAt.Format(TimeLayout), p.LastAt.Format(TimeLayout))
	}
	b.WriteString("\n")
	for _, w := range p.Warnings() {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	return b.String()
}

// AssessGroup counts, among ids (the entries to remove, ascending), those
// the group holds pending and those past its last-delivered-id (never
// handed to any of its consumers).
func AssessGroup(name, lastDelivered string, ids, pending []string) GroupRisk {
	r := GroupRisk{Group: name}
	planned := make(map[string]bool, len(ids))
	for _, id := range ids {
		planned[id] = true
		if lastDelivered == "" || CompareIDs(id, lastDelivered) > 0 {
			r.Unread++
		}
	}
	for _, id := range pending {
		// A pending id no longer in the stream (trimmed before) is not
		// taken by this trim: it is gone already.
		if planned[id] {
			r.Pending++
		}
	}
	return r
}

func CheckArchiveOrder(entries []ArchiveEntry) error {
	for i, e := range entries {
		if !ValidStreamID(e.ID) || !strings.Contains(e.ID, "-") || e.ID == "0-0" {
			return fmt.Errorf("entry %d: %q is not a stream id like 1795597353284-0: %w", i+1, e.ID, ErrInvalid)
		}
		if len(e.Fields) == 0 || len(e.Fields)%2 != 0 {
			return fmt.Errorf("entry %s: needs field/value pairs: %w", e.ID, ErrInvalid)
		}
		if i > 0 && CompareIDs(entries[i-1].ID, e.ID) >= 0 {
			return fmt.Errorf("entry %s does not come after %s: ids must ascend: %w", e.ID, entries[i-1].ID, ErrInvalid)
		}
	}
	return nil
}
