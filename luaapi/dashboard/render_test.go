package dashboard

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"claimsctl/streams/claims"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixedReport is the report of the streams golden test (four claims over
// two hours), written out so the renderer's test depends on nothing else.
func fixedReport() claims.Report {
	return claims.Report{
		GeneratedAt: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Events:      18,
		Claims:      4,
		ByStatus:    map[string]int{"approved": 1, "investigating": 1, "paid": 1, "rejected": 1},
		ByClaimType: map[string]int{"auto": 2, "health": 1, "home": 1},
		ByEventType: map[string]int{"claim.submitted": 4},
		ClaimsPerHour: []claims.HourCount{
			{Hour: "2026-11-25T10:00Z", Claims: 2},
			{Hour: "2026-11-25T11:00Z", Claims: 2},
		},
		Claimed:          claims.AmountStats{Count: 4, Total: 14500, Average: 3625},
		Approved:         claims.AmountStats{Count: 2, Total: 3200, Average: 1600},
		Paid:             claims.AmountStats{Count: 1, Total: 2000, Average: 2000},
		ApprovalRate:     0.67,
		AvgProcessingSec: 2420,
		AvgResolutionSec: 7200,
		AdjusterWorkload: []claims.AdjusterLoad{
			{Adjuster: "ADJ-001", Assigned: 2, Open: 1, Resolved: 1},
			{Adjuster: "ADJ-002", Assigned: 1, Open: 1, Resolved: 0},
		},
		OutOfOrderEvents: 1,
	}
}

func TestRenderDashboardGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		width  int
		color  bool
		golden string
	}{
		{"plain", 80, false, "dashboard.golden"},
		{"color", 80, true, "dashboard_color.golden"},
		{"narrow", 60, false, "dashboard_narrow.golden"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := Render(fixedReport(), c.width, c.color)
			path := filepath.Join("testdata", c.golden)
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./luaapi/dashboard -update to create it")
			assert.Equal(t, string(want), got)
		})
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	busy := fixedReport()
	busy.ClaimsPerHour = nil
	for h := 0; h < 20; h++ {
		busy.ClaimsPerHour = append(busy.ClaimsPerHour, claims.HourCount{
			Hour: time.Date(2026, 11, 24, h, 0, 0, 0, time.UTC).Format("2006-01-02T15:04Z"), Claims: h + 1,
		})
	}
	busy.Claimed = claims.AmountStats{Count: 9999, Total: 99_999_999.99, Average: 10_000}
	busy.Malformed = 12
	empty := claims.BuildReport(nil, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))

	cases := []struct {
		name     string
		report   claims.Report
		width    int
		color    bool
		contains []string
		missing  []string
	}{
		{
			name: "statuses in lifecycle order, with zeros", report: fixedReport(), width: 80,
			contains: []string{"  submitted         0\n  assigned          0\n  investigating     1  #"},
		},
		{
			name: "totals in human units", report: fixedReport(), width: 80,
			contains: []string{"claims 4   events 18   not folded 1", "(not folded: earlier events of their claims are gone)", "14,500.00", "3,625.00", "approval rate 67%", "avg processing 40m 20s", "avg resolution 2h 0m"},
		},
		{
			name: "last 12 hours with claims only", report: busy, width: 100,
			contains: []string{"11-24 08:00", "11-24 19:00", "malformed 12", "99,999,999.99"},
			missing:  []string{"11-24 07:00"},
		},
		{
			name: "stacked open/resolved bars", report: fixedReport(), width: 80,
			contains: []string{"ADJ-001 1/1  ", "#=", "ADJ-002 1/0  #"},
		},
		{
			name: "nothing yet", report: empty, width: 80,
			contains: []string{"claims 0   events 0", "No claims yet"},
			missing:  []string{"Status", "approval rate"},
		},
		{
			// After a trim that kept only the last events of each claim.
			name: "only claims' later events", report: func() claims.Report {
				r := empty
				r.OutOfOrderEvents = 5
				return r
			}(), width: 80,
			contains: []string{"claims 0   events 0   not folded 5", "(not folded: earlier events of their claims are gone)", "No claim has all its events in the stream (trimmed?)"},
			missing:  []string{"No claims yet", "Status"},
		},
		{
			name: "nothing decided yet", report: func() claims.Report {
				r := fixedReport()
				r.ByStatus = map[string]int{"submitted": 4}
				r.ApprovalRate, r.AvgProcessingSec, r.AvgResolutionSec = 0, 0, 0
				return r
			}(), width: 80,
			contains: []string{"approval rate -", "avg processing -   avg resolution -"},
		},
		{
			name: "colour uses blocks and ANSI", report: fixedReport(), width: 80, color: true,
			contains: []string{"\x1b[", "█"},
			missing:  []string{"#"},
		},
		{
			name: "a width below the minimum is raised", report: fixedReport(), width: 10,
			contains: []string{strings.Repeat("=", MinWidth) + "\n"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := Render(c.report, c.width, c.color)
			for _, want := range c.contains {
				assert.Contains(t, got, want)
			}
			for _, not := range c.missing {
				assert.NotContains(t, got, not)
			}
			if !c.color {
				assert.NotContains(t, got, "\x1b", "no ANSI without colour")
				for i := 0; i < len(got); i++ {
					if got[i] >= utf8.RuneSelf {
						t.Errorf("plain output is ASCII; byte %d is not: %q", i, got[max(0, i-20):i+1])
						break
					}
				}
				width := max(c.width, MinWidth)
				for _, line := range strings.Split(got, "\n") {
					assert.LessOrEqual(t, len(line), width, "line wider than %d: %q", width, line)
				}
			}
		})
	}
}

var update = flag.Bool("update", false, "rewrite the golden files")
