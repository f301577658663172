package luaapi

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"claimsctl/streams"
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
			got := RenderDashboard(fixedReport(), c.width, c.color)
			path := filepath.Join("testdata", c.golden)
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./luaapi -update to create it")
			assert.Equal(t, string(want), got)
		})
	}
}

func TestRenderDashboard(t *testing.T) {
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
			contains: []string{"claims 4   events 18   out of order 1", "14,500.00", "3,625.00", "approval rate 67%", "avg processing 40m 20s", "avg resolution 2h 0m"},
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
			contains: []string{strings.Repeat("=", MinDashboardWidth) + "\n"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := RenderDashboard(c.report, c.width, c.color)
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
				width := max(c.width, MinDashboardWidth)
				for _, line := range strings.Split(got, "\n") {
					assert.LessOrEqual(t, len(line), width, "line wider than %d: %q", width, line)
				}
			}
		})
	}
}

func TestHumanUnits(t *testing.T) {
	t.Parallel()
	for sec, want := range map[float64]string{0: "-", -5: "-", 0.0004: "<1ms", 0.4: "400ms", 4.3: "4.3s", 45: "45s", 59.7: "1m 0s", 2420: "40m 20s", 7200: "2h 0m", 86400 + 3*3600: "1d 3h"} {
		assert.Equal(t, want, humanSeconds(sec), "%v seconds", sec)
	}
	for f, want := range map[float64]string{0: "0.00", 999.5: "999.50", 1000: "1,000.00", 1234567.891: "1,234,567.89", -2500: "-2,500.00"} {
		assert.Equal(t, want, money(f), "%v", f)
	}
}

// signalWriter is an io.Writer that reports its first write, so a test can
// wait for the first frame without sleeping.
type signalWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	first chan struct{}
	once  sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.once.Do(func() { close(w.first) })
	return w.buf.Write(p)
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestDashboardFromLua(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, newStore func() *streams.Store) {
		ctx := context.Background()
		store := newStore()

		t.Run("once, piped", func(t *testing.T) {
			rt, out := newRuntime(t, store, false)
			require.NoError(t, rt.DoString(ctx, `
				submit{customer="C", policy="P", amount=1200, type="travel", incident_date="2026-11-01", description="lost bag"}
				dashboard{once=true}`, "once"))
			assert.Contains(t, out.String(), "Claims dashboard")
			assert.Contains(t, out.String(), "claims 1")
			assert.Regexp(t, `travel\s+1  #+\n`, out.String())
			assert.NotContains(t, out.String(), "\x1b", "no ANSI when not a terminal")
			assert.NotContains(t, out.String(), "Ctrl-C", "a single frame has no refresh footer")
		})

		t.Run("on a terminal", func(t *testing.T) {
			w := &signalWriter{first: make(chan struct{})}
			rt := New(Config{Store: store, Out: w, TTY: true, Color: true})
			t.Cleanup(rt.Close)
			cctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- rt.DoString(cctx, `dashboard{refresh=600}; after = "went on"`, "live") }()
			<-w.first
			cancel() // Ctrl-C
			require.NoError(t, <-done, "Ctrl-C ends the dashboard normally")
			assert.True(t, strings.HasPrefix(w.String(), clearScreen), "a terminal is cleared before each frame")
			assert.Contains(t, w.String(), "refreshing every 10m0s; Ctrl-C stops")
			assert.Contains(t, w.String(), "\x1b[1;36mStatus")
			assert.Equal(t, "went on", rt.L.GetGlobal("after").String(), "the rest of the chunk ran")
		})

		t.Run("bad options", func(t *testing.T) {
			rt, _ := newRuntime(t, store, false)
			for code, msg := range map[string]string{
				`dashboard{refresh=0}`:  "refresh must be a number of seconds above 0",
				`dashboard{width=20}`:   "width must be between 60 and 1000",
				`dashboard{onse=true}`:  `unknown option "onse"`,
				`dashboard{once="yes"}`: "option once must be true or false",
			} {
				err := rt.DoString(ctx, code, "bad")
				require.Error(t, err, code)
				assert.Contains(t, err.Error(), msg, code)
			}
		})
	})
}
