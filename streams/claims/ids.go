package claims

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ValidName checks a consumer group or consumer name (what says which)
// before it goes to Redis or starts a worker: NameRule.
func ValidName(what, name string) error {
	if rule := nameProblem(name, nameSymbols); rule != "" {
		return &NameError{What: what, Name: name, Rule: rule}
	}
	return nil
}

func ValidStreamID(id string) bool {
	ms, seq, found := strings.Cut(id, "-")
	return ms != "" && allDigits(ms) && (!found || (seq != "" && allDigits(seq)))
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ParseBound reads a replay bound: a stream id ("1795597353284-0", "-",
// "+") or a time ("2026-11-25T10:00:00Z", "2026-11-25 10:00", "2026-11-25").
func ParseBound(s string) (id string, t time.Time, err error) {
	s = strings.TrimSpace(s)
	if s == "-" || s == "+" || ValidStreamID(s) {
		return s, time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", DateLayout} {
		if t, err := time.Parse(layout, s); err == nil {
			return "", t.UTC(), nil
		}
	}
	return "", time.Time{}, fmt.Errorf("%q is neither a stream id (1795597353284-0) nor a time (2026-11-25T10:00:00Z): %w", s, ErrInvalid)
}

// CompareIDs orders two stream ids numerically (-1, 0, 1).
func CompareIDs(a, b string) int {
	am, as := splitID(a)
	bm, bs := splitID(b)
	if am != bm {
		return cmp.Compare(am, bm)
	}
	return cmp.Compare(as, bs)
}

// splitID parses an id's two numbers (0 for what is not a number). It is
// on the path of every entry a trim or an import counts, hence strconv.
func splitID(id string) (ms, seq uint64) {
	m, s, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(s, 10, 64)
	return ms, seq
}

// IDAt is the first stream id of the millisecond of t: entries below it
// were added before t (by the server's clock).
func IDAt(t time.Time) string { return fmt.Sprintf("%d-0", t.UnixMilli()) }

// NextID is the smallest stream id above id.
func NextID(id string) string {
	ms, seq := splitID(id)
	if seq == math.MaxUint64 {
		return strconv.FormatUint(ms+1, 10) + "-0"
	}
	return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq+1, 10)
}

// PrevID is the largest stream id below id ("0-0" for the smallest).
func PrevID(id string) string {
	ms, seq := splitID(id)
	switch {
	case seq > 0:
		return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq-1, 10)
	case ms > 0:
		return strconv.FormatUint(ms-1, 10) + "-" + strconv.FormatUint(math.MaxUint64, 10)
	}
	return "0-0"
}

// ValidClaimID checks a claim id chosen by a caller (ClaimIDRule), so that
// it is safe in a key name, a log line and a terminal.
func ValidClaimID(id string) error {
	if rule := nameProblem(id, claimIDSymbols); rule != "" {
		return &ValidationError{Field: FieldClaimID, Rule: rule}
	}
	return nil
}

// ValidActor checks who a command names as its actor ("" is the default):
// text of at most MaxNameLength characters.
func ValidActor(actor string) error {
	if rule := textProblem(actor, MaxNameLength); rule != "" {
		return &ValidationError{Field: FieldActor, Rule: rule}
	}
	return nil
}
