package claims

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// update rewrites golden files under testdata/ instead of comparing:
// go test ./streams/ -run TestReportGolden -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// reportT0 is 10:00 UTC on the day of the fixed report.
var reportT0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// reportEvents builds the fixed event log of the report tests, in stream
// order (claims interleave as they would on claims:events):
//
//	C-1 auto   2500 submitted 10:05, ADJ-001, approved 2000 at 11:05, paid at 12:05
//	C-2 home  10000 submitted 10:30, rejected at 10:31 (no adjuster)
//	C-3 health  800 submitted 11:10, ADJ-002, investigating
//	C-4 auto   1200 submitted 11:45, ADJ-001, approved 1200 at 12:45
//
// plus one approval of C-3 that its status does not allow (out of order).
func reportEvents() []Event {
	var events []Event
	versions := map[string]int64{}
	seq := 0
	add := func(claim string, at time.Time, typ EventType, data map[string]any) {
		versions[claim]++
		seq++
		events = append(events, Event{
			ID: fmt.Sprintf("%d-%d", at.UnixMilli(), seq), Type: typ, ClaimID: claim, Version: versions[claim],
			EventID: fmt.Sprintf("ev-%d", seq), OccurredAt: at, Actor: "tester", Data: data,
		})
	}
	at := func(h, m int) time.Time {
		return reportT0.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	submit := func(claim string, h, m int, typ string, amount float64) {
		add(claim, at(h, m), ClaimSubmitted, map[string]any{
			"customer_id": "CUST-" + claim, "policy_id": "POL-" + claim, "amount": amount,
			"claim_type": typ, "incident_date": "2026-11-20", "description": "fixture",
		})
	}
	submit("C-1", 0, 5, "auto", 2500)
	add("C-1", at(0, 6), ClaimAssigned, map[string]any{"adjuster": "ADJ-001"})
	submit("C-2", 0, 30, "home", 10000)
	add("C-2", at(0, 31), ClaimRejected, map[string]any{"reason": "policy not found", "code": "policy_not_found"})
	add("C-1", at(0, 40), DocumentUploaded, map[string]any{"document_type": "photo", "filename": "a.jpg"})
	add("C-1", at(0, 50), ClaimInvestigated, map[string]any{"phase": "started"})
	add("C-1", at(1, 0), ClaimInvestigated, map[string]any{"phase": "completed", "findings": "ok"})
	add("C-1", at(1, 5), ClaimApproved, map[string]any{"approved_amount": 2000.0})
	submit("C-3", 1, 10, "health", 800)
	add("C-3", at(1, 11), ClaimAssigned, map[string]any{"adjuster": "ADJ-002"})
	add("C-3", at(1, 20), ClaimInvestigated, map[string]any{"phase": "started"})
	submit("C-4", 1, 45, "auto", 1200)
	add("C-4", at(1, 46), ClaimAssigned, map[string]any{"adjuster": "ADJ-001"})
	add("C-1", at(2, 0), PaymentInitiated, map[string]any{"payment_id": "PAY-1", "amount": 2000.0, "method": "bank_transfer"})
	add("C-1", at(2, 5), PaymentCompleted, map[string]any{"payment_id": "PAY-1", "amount": 2000.0})
	add("C-4", at(2, 30), ClaimInvestigated, map[string]any{"phase": "completed", "findings": "clear"})
	add("C-3", at(2, 35), ClaimApproved, map[string]any{"approved_amount": 100.0}) // C-3 is investigating: refused
	add("C-4", at(2, 45), ClaimApproved, map[string]any{"approved_amount": 1200.0})
	return events
}

var reportGeneratedAt = time.Date(2026, 11, 25, 13, 0, 0, 0, time.FixedZone("CET", 3600))

func TestBuildReport(t *testing.T) {
	t.Parallel()
	r := BuildReport(reportEvents(), reportGeneratedAt)

	assert.Equal(t, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), r.GeneratedAt)
	assert.Equal(t, 18, r.Events)
	assert.Equal(t, 0, r.Malformed)
	assert.Equal(t, 1, r.OutOfOrderEvents)
	assert.Equal(t, 4, r.Claims)
	assert.Equal(t, map[string]int{"paid": 1, "rejected": 1, "investigating": 1, "approved": 1}, r.ByStatus)
	assert.Equal(t, map[string]int{"auto": 2, "home": 1, "health": 1}, r.ByClaimType)
	assert.Equal(t, map[string]int{
		"claim.submitted": 4, "claim.assigned": 3, "claim.document.uploaded": 1, "claim.investigated": 4,
		"claim.approved": 3, "claim.rejected": 1, "claim.payment.initiated": 1, "claim.payment.completed": 1,
	}, r.ByEventType, "every event counts by type, the refused one too")
	assert.Equal(t, []HourCount{{"2026-11-25T10:00Z", 2}, {"2026-11-25T11:00Z", 2}}, r.ClaimsPerHour)
	assert.Equal(t, AmountStats{Count: 4, Total: 14500, Average: 3625}, r.Claimed)
	assert.Equal(t, AmountStats{Count: 2, Total: 3200, Average: 1600}, r.Approved)
	assert.Equal(t, AmountStats{Count: 1, Total: 2000, Average: 2000}, r.Paid)
	// Decided: C-1 (approved, then paid), C-2 (rejected), C-4 (approved).
	assert.Equal(t, 0.67, r.ApprovalRate)
	// Submission to decision: C-1 60 min, C-2 1 min, C-4 60 min.
	assert.Equal(t, float64(60*60+60+60*60)/3, r.AvgProcessingSec)
	// Submission to payment: C-1 2 h.
	assert.Equal(t, 7200.0, r.AvgResolutionSec)
	assert.Equal(t, []AdjusterLoad{
		{Adjuster: "ADJ-001", Assigned: 2, Open: 1, Resolved: 1},
		{Adjuster: "ADJ-002", Assigned: 1, Open: 1, Resolved: 0},
	}, r.AdjusterWorkload)
}

func TestReportGolden(t *testing.T) {
	t.Parallel()
	r := BuildReport(reportEvents(), reportGeneratedAt)
	got, err := r.JSON()
	require.NoError(t, err)
	require.True(t, json.Valid(got))

	golden := filepath.Join("testdata", "report.golden.json")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./streams/ -run TestReportGolden -update to create it")
	assert.Equal(t, string(want), string(got), "report JSON differs from %s (rerun with -update if the change is intended)", golden)
}

func TestReportJSONNames(t *testing.T) {
	t.Parallel()
	raw, err := BuildReport(reportEvents(), reportT0).JSON()
	require.NoError(t, err)
	assert.True(t, bytes.HasSuffix(raw, []byte("}\n")))
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	for _, name := range []string{
		"generated_at", "events", "malformed_entries", "claims", "by_status", "by_claim_type", "by_event_type",
		"claims_per_hour", "claimed", "approved", "paid", "approval_rate", "avg_processing_seconds",
		"avg_resolution_seconds", "adjuster_workload", "out_of_order_events",
	} {
		assert.Contains(t, m, name)
	}
	assert.Len(t, m, 17, "no internal state leaks into the JSON")
}

func TestBuildReportEmpty(t *testing.T) {
	t.Parallel()
	r := BuildReport(nil, reportT0)
	assert.Zero(t, r.Events)
	assert.Zero(t, r.Claims)
	assert.Zero(t, r.ApprovalRate)
	assert.Zero(t, r.AvgProcessingSec)
	assert.Zero(t, r.AvgResolutionSec)
	raw, err := r.JSON()
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"by_status": {}`)
}

func TestBuildReportRates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		events    []Event
		rate      float64
		decided   bool
		processed float64
	}{
		{"all rejected", []Event{
			lifecycleEvents("A", reportT0)[0], rejectedEvent("A", 2, reportT0.Add(30*time.Second)),
		}, 0, true, 30},
		{"undecided", lifecycleEvents("A", reportT0)[:4], 0, false, 0},
		{"one paid", lifecycleEvents("A", reportT0), 1, true, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := BuildReport(tt.events, reportT0)
			assert.Equal(t, tt.rate, r.ApprovalRate)
			assert.Equal(t, tt.processed, r.AvgProcessingSec)
			assert.Zero(t, r.OutOfOrderEvents)
		})
	}
}

func TestRound2(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want float64 }{
		{0, 0}, {1.004, 1}, {1.006, 1.01}, {2.0 / 3, 0.67}, {-2.0 / 3, -0.67}, {1234.5678, 1234.57},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.in), func(t *testing.T) {
			t.Parallel()
			assert.InDelta(t, tt.want, Round2(tt.in), 1e-9)
		})
	}
}
