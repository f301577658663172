package claims

import (
	"sort"
	"strconv"
	"strings"
)

// Stats is claims:stats, the analytics worker's counters, read back.
type Stats struct {
	Events           int64            `json:"events"`
	ByEventType      map[string]int64 `json:"by_event_type"`
	Claims           int64            `json:"claims"`
	ByStatus         map[string]int64 `json:"by_status"`
	ByClaimType      map[string]int64 `json:"by_claim_type"`
	ByHour           map[string]int64 `json:"by_hour"` // "2026-11-25T10" -> claims submitted
	ByRejection      map[string]int64 `json:"by_rejection_code"`
	ClaimedTotal     float64          `json:"claimed_total"`
	ApprovedTotal    float64          `json:"approved_total"`
	PaidTotal        float64          `json:"paid_total"`
	Decided          int64            `json:"decided"`
	AvgProcessingSec float64          `json:"avg_processing_seconds"` // submitted -> approved/rejected
	Resolved         int64            `json:"resolved"`
	AvgResolutionSec float64          `json:"avg_resolution_seconds"` // submitted -> paid
	Adjusters        []AdjusterLoad   `json:"adjuster_workload"`
}

func ParseStats(raw map[string]string) Stats {
	st := Stats{
		ByEventType: map[string]int64{}, ByStatus: map[string]int64{}, ByClaimType: map[string]int64{},
		ByHour: map[string]int64{}, ByRejection: map[string]int64{},
	}
	var processingMs, resolutionMs int64
	adjusters := map[string]*AdjusterLoad{}
	for k, v := range raw {
		n, _ := strconv.ParseInt(v, 10, 64)
		f, _ := strconv.ParseFloat(v, 64)
		name, rest, _ := strings.Cut(k, ":")
		switch {
		case k == "events":
			st.Events = n
		case k == "claims":
			st.Claims = n
		case k == "amount:claimed":
			st.ClaimedTotal = Round2(f)
		case k == "amount:approved":
			st.ApprovedTotal = Round2(f)
		case k == "amount:paid":
			st.PaidTotal = Round2(f)
		case k == "processing_ms:sum":
			processingMs = n
		case k == "processing:count":
			st.Decided = n
		case k == "resolution_ms:sum":
			resolutionMs = n
		case k == "resolution:count":
			st.Resolved = n
		case name == "event":
			st.ByEventType[rest] = n
		case name == "status":
			st.ByStatus[rest] = n
		case name == "claim_type":
			st.ByClaimType[rest] = n
		case name == "hour":
			st.ByHour[rest] = n
		case name == "rejection":
			st.ByRejection[rest] = n
		case name == "adjuster":
			i := strings.LastIndex(rest, ":")
			if i < 0 {
				continue
			}
			id, what := rest[:i], rest[i+1:]
			a := adjusters[id]
			if a == nil {
				a = &AdjusterLoad{Adjuster: id}
				adjusters[id] = a
			}
			switch what {
			case "assigned":
				a.Assigned = int(n)
			case "open":
				a.Open = int(n)
			case "resolved":
				a.Resolved = int(n)
			}
		}
	}
	if st.Decided > 0 {
		st.AvgProcessingSec = Round2(float64(processingMs) / 1000 / float64(st.Decided))
	}
	if st.Resolved > 0 {
		st.AvgResolutionSec = Round2(float64(resolutionMs) / 1000 / float64(st.Resolved))
	}
	for _, a := range adjusters {
		st.Adjusters = append(st.Adjusters, *a)
	}
	sort.Slice(st.Adjusters, func(i, j int) bool { return st.Adjusters[i].Adjuster < st.Adjusters[j].Adjuster })
	return st
}

// Tally is what one event moves in the analytics counters: the claim's
// new status ("" when it stays), the adjuster it was assigned to, whether
// it decides, pays or closes the claim, and the counters it adds to.
type Tally struct {
	NewStatus             Status
	Adjuster              string
	Decides, Pays, Closes bool
	Counters              []Counter
}

// Counter is one field of the stats hash and what an event adds to it: an
// integer count, or an amount (Amount true).
type Counter struct {
	Field  string
	By     float64
	Amount bool
}

// TallyOf is the analytics arithmetic of one event.
func TallyOf(e Event) Tally {
	t := Tally{NewStatus: NextStatus(StatusNone, e)}
	t.Decides = e.Type == ClaimApproved || e.Type == ClaimRejected
	t.Pays = e.Type == PaymentCompleted
	t.Closes = t.NewStatus.Final()
	if e.Type == ClaimAssigned {
		t.Adjuster = e.String("adjuster")
	}
	count := func(field string) { t.Counters = append(t.Counters, Counter{Field: field, By: 1}) }
	amount := func(field, key string) {
		t.Counters = append(t.Counters, Counter{Field: field, By: e.Number(key), Amount: true})
	}
	count("events")
	count("event:" + string(e.Type))
	switch e.Type {
	case ClaimSubmitted:
		count("claims")
		count("claim_type:" + e.String("claim_type"))
		count("hour:" + e.OccurredAt.UTC().Format("2006-01-02T15"))
		amount("amount:claimed", "amount")
	case ClaimApproved:
		amount("amount:approved", "approved_amount")
	case ClaimRejected:
		if c := e.String("code"); c != "" {
			count("rejection:" + c)
		}
	case PaymentCompleted:
		amount("amount:paid", "amount")
	}
	return t
}
