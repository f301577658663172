package claims

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Report is the analytics a claims team reads, computed from the events
// alone (lab steps 8 and 10). JSON names are the lab report's.
type Report struct {
	GeneratedAt      time.Time      `json:"generated_at"`
	Events           int            `json:"events"`
	Malformed        int            `json:"malformed_entries"`
	NotWritten       int            `json:"entries_not_written_by_the_store"`
	Claims           int            `json:"claims"`
	ByStatus         map[string]int `json:"by_status"`
	ByClaimType      map[string]int `json:"by_claim_type"`
	ByEventType      map[string]int `json:"by_event_type"`
	ClaimsPerHour    []HourCount    `json:"claims_per_hour"`
	Claimed          AmountStats    `json:"claimed"`
	Approved         AmountStats    `json:"approved"`
	Paid             AmountStats    `json:"paid"`
	ApprovalRate     float64        `json:"approval_rate"` // approved / decided, 0..1
	AvgProcessingSec float64        `json:"avg_processing_seconds"`
	AvgResolutionSec float64        `json:"avg_resolution_seconds"`
	AdjusterWorkload []AdjusterLoad `json:"adjuster_workload"`
	OutOfOrderEvents int            `json:"out_of_order_events"`
	claims           map[string]*reportClaim
	waiting          map[string][]Event // claim -> events that came before their predecessor
	words            map[string]string  // one copy of each claim type and adjuster name
}

// reportClaim is what the report keeps of a claim: the fold's state
// without the free texts, so a report of a million events stays small.
type reportClaim struct {
	version                    int64
	status                     Status
	claimType, adjuster        string
	paymentID                  string
	amount, approved, paid     float64
	submitted, decided, paidAt int64 // unix ms; 0 when not yet
}

// HourCount is the number of claims submitted in one UTC hour.
type HourCount struct {
	Hour   string `json:"hour"` // 2026-11-25T10:00Z
	Claims int    `json:"claims"`
}

// AmountStats sums and averages one kind of amount.
type AmountStats struct {
	Count   int     `json:"count"`
	Total   float64 `json:"total"`
	Average float64 `json:"average"`
}

// AdjusterLoad is one adjuster's share of the claims.
type AdjusterLoad struct {
	Adjuster string `json:"adjuster"`
	Assigned int    `json:"assigned"`
	Open     int    `json:"open"`
	Resolved int    `json:"resolved"`
}

// BuildReport folds events (in stream order) into claims and aggregates
// them. Events that do not follow their claim (a gap, a bad transition)
// are counted in OutOfOrderEvents and otherwise ignored.
func BuildReport(events []Event, now time.Time) Report {
	r := NewReport(now)
	for _, e := range events {
		r.Add(e)
	}
	return r.Finish()
}

// NewReport starts a report to fold events into one at a time (Add), for
// streams too long to hold in memory; Finish computes the figures.
func NewReport(now time.Time) *Report {
	return &Report{
		GeneratedAt: now.UTC(), ByStatus: map[string]int{}, ByClaimType: map[string]int{},
		ByEventType: map[string]int{}, claims: map[string]*reportClaim{}, words: map[string]string{},
		// Empty lists, not null, in the JSON of a report with no claims.
		ClaimsPerHour: []HourCount{}, AdjusterWorkload: []AdjusterLoad{},
	}
}

// Add folds one event into the report's claims. An event put back from
// the DLQ comes later in the stream than its successors: an event that
// arrives before its predecessor waits for it.
func (r *Report) Add(e Event) {
	r.Events++
	r.ByEventType[string(e.Type)]++
	r.apply(e)
}

func (r *Report) apply(e Event) {
	rc := r.claims[e.ClaimID]
	if rc == nil {
		rc = &reportClaim{}
	}
	if e.Version > rc.version+1 {
		if r.waiting == nil {
			r.waiting = map[string][]Event{}
		}
		r.waiting[e.ClaimID] = append(r.waiting[e.ClaimID], e)
		return
	}
	c := rc.claim(e.ClaimID)
	if err := c.Apply(e); err != nil {
		r.OutOfOrderEvents++
		return
	}
	r.claims[e.ClaimID] = r.compact(&c)
	if w := r.waiting[e.ClaimID]; len(w) > 0 {
		delete(r.waiting, e.ClaimID)
		for _, later := range w {
			r.apply(later)
		}
	}
}

func (rc *reportClaim) claim(id string) Claim {
	c := Claim{ID: id, Version: rc.version, Status: rc.status, ClaimType: rc.claimType, Adjuster: rc.adjuster,
		PaymentID: rc.paymentID, Amount: rc.amount, ApprovedAmount: rc.approved, PaidAmount: rc.paid}
	at := func(ms int64) time.Time {
		if ms == 0 {
			return time.Time{}
		}
		return time.UnixMilli(ms).UTC()
	}
	c.SubmittedAt, c.DecidedAt, c.PaidAt = at(rc.submitted), at(rc.decided), at(rc.paidAt)
	return c
}

func (r *Report) compact(c *Claim) *reportClaim {
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	return &reportClaim{
		version: c.Version, status: c.Status, claimType: r.word(c.ClaimType), adjuster: r.word(c.Adjuster),
		paymentID: c.PaymentID, amount: c.Amount, approved: c.ApprovedAmount, paid: c.PaidAmount,
		submitted: ms(c.SubmittedAt), decided: ms(c.DecidedAt), paidAt: ms(c.PaidAt),
	}
}

// word keeps one copy of a repeated string.
func (r *Report) word(s string) string {
	if w, ok := r.words[s]; ok {
		return w
	}
	s = strings.Clone(s)
	r.words[s] = s
	return s
}

// Finish computes the report's figures from the claims folded so far.
func (r *Report) Finish() Report {
	for _, w := range r.waiting {
		r.OutOfOrderEvents += len(w)
	}
	hours := map[string]int{}
	adjusters := map[string]*AdjusterLoad{}
	var decided, approved int
	var processing, resolution time.Duration
	var resolved int
	for _, c := range r.claims {
		r.Claims++
		r.ByStatus[string(c.status)]++
		r.ByClaimType[c.claimType]++
		hours[time.UnixMilli(c.submitted).UTC().Truncate(time.Hour).Format("2006-01-02T15:04Z")]++
		r.Claimed.add(c.amount)
		if c.approved > 0 {
			r.Approved.add(c.approved)
		}
		if c.paid > 0 {
			r.Paid.add(c.paid)
		}
		if c.status.Decided() {
			decided++
			if c.status != StatusRejected {
				approved++
			}
			processing += time.Duration(c.decided-c.submitted) * time.Millisecond
		}
		if c.status == StatusPaid {
			resolved++
			resolution += time.Duration(c.paidAt-c.submitted) * time.Millisecond
		}
		if c.adjuster != "" {
			a := adjusters[c.adjuster]
			if a == nil {
				a = &AdjusterLoad{Adjuster: c.adjuster}
				adjusters[c.adjuster] = a
			}
			a.Assigned++
			if c.status.Final() {
				a.Resolved++
			} else {
				a.Open++
			}
		}
	}
	for h, n := range hours {
		r.ClaimsPerHour = append(r.ClaimsPerHour, HourCount{Hour: h, Claims: n})
	}
	sort.Slice(r.ClaimsPerHour, func(i, j int) bool { return r.ClaimsPerHour[i].Hour < r.ClaimsPerHour[j].Hour })
	for _, a := range adjusters {
		r.AdjusterWorkload = append(r.AdjusterWorkload, *a)
	}
	sort.Slice(r.AdjusterWorkload, func(i, j int) bool {
		a, b := r.AdjusterWorkload[i], r.AdjusterWorkload[j]
		if a.Assigned != b.Assigned {
			return a.Assigned > b.Assigned
		}
		return a.Adjuster < b.Adjuster
	})
	if decided > 0 {
		r.ApprovalRate = Round2(float64(approved) / float64(decided))
		r.AvgProcessingSec = roundMillis(processing.Seconds() / float64(decided))
	}
	if resolved > 0 {
		r.AvgResolutionSec = roundMillis(resolution.Seconds() / float64(resolved))
	}
	for _, a := range []*AmountStats{&r.Claimed, &r.Approved, &r.Paid} {
		if a.Count > 0 {
			a.Average = Round2(a.Total / float64(a.Count))
		}
		a.Total = Round2(a.Total)
	}
	out := *r
	out.claims, out.waiting, out.words = nil, nil, nil
	return out
}

func (a *AmountStats) add(v float64) {
	a.Count++
	a.Total += v
}

// roundMillis keeps durations in seconds to the millisecond: in the lab a
// claim is often decided within a second.
func roundMillis(sec float64) float64 { return math.Round(sec*1000) / 1000 }

func Round2(f float64) float64 {
	if f < 0 {
		return -Round2(-f)
	}
	return float64(int64(f*100+0.5)) / 100
}

// JSON is the report as the lab's data/claims-analytics-report.json.
func (r Report) JSON() ([]byte, error) {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	return append(raw, '\n'), nil
}
