package luaapi

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"claimsctl/luaapi/dashboard"
	"claimsctl/streams"
	"claimsctl/streams/redisconn"

	lua "github.com/yuin/gopher-lua"
)

// reportModule is claims.report: the analytics computed from the events,
// as a table, a JSON file or the dashboard.
type reportModule struct {
	store *streams.Store
	out   io.Writer // where the dashboard is drawn
	echo  *echo
	jail  *jail // where report{out=} may write
	tty   bool  // clear the screen between dashboard frames
	color bool
	width func() int // the default width (Config.Width)
}

func (m *reportModule) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"report":    m.report,
		"dashboard": m.dashboard,
	}))
	return 1
}

func (m *reportModule) report(L *lua.LState) int {
	o := optionsAt(L, 1, "report", "out")
	rep, err := m.store.Report(ctxOf(L))
	if err != nil {
		return raise(L, err)
	}
	if out := o.str("out", ""); out != "" {
		path, err := m.jail.write(L, "report", out)
		if err != nil {
			return raise(L, err)
		}
		raw, err := rep.JSON()
		if err != nil {
			return raise(L, fmt.Errorf("report: encode: %w", err))
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return raise(L, fmt.Errorf("report: %w", err))
		}
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			return raise(L, fmt.Errorf("report: %w", err))
		}
	}
	t := structToLua(L, rep)
	if tt, ok := t.(*lua.LTable); ok {
		// The averages as the dashboard words them (70ms, 2m 5s), for printing.
		tt.RawSetString("avg_processing", lua.LString(dashboard.HumanSeconds(rep.AvgProcessingSec)))
		tt.RawSetString("avg_resolution", lua.LString(dashboard.HumanSeconds(rep.AvgResolutionSec)))
	}
	if out := o.str("out", ""); out != "" {
		m.echo.summary(t, "report of %d claims written to %s", rep.Claims, out)
	}
	L.Push(t)
	return 1
}

// dashboard returns normally on Ctrl-C, so the REPL (or the script) goes on.
func (m *reportModule) dashboard(L *lua.LState) int {
	const fn = "dashboard"
	o := optionsAt(L, 1, fn, "refresh", "once", "width")
	refresh := o.num("refresh", dashboard.DefaultRefresh.Seconds())
	if refresh <= 0 || math.IsInf(refresh, 0) || math.IsNaN(refresh) {
		argError(L, 1, fn, fmt.Sprintf("refresh must be a number of seconds above 0, got %v", refresh))
	}
	width := 0.0 // the dashboard's default
	if m.width != nil {
		width = float64(m.width())
	}
	if o.has("width") {
		width = o.num("width", 0)
		if width < dashboard.MinWidth || width > 1000 {
			argError(L, 1, fn, fmt.Sprintf("width must be between %d and 1000 columns, got %v", dashboard.MinWidth, width))
		}
	}
	once := o.boolean("once", false)
	ctx := ctxOf(L)
	err := dashboard.Run(ctx, m.out, m.store.Report, dashboard.Options{
		Refresh: time.Duration(refresh * float64(time.Second)),
		Once:    once, Width: int(width), Color: m.color, Clear: m.tty && !once,
		Transient: redisconn.Transient,
	})
	if err != nil {
		return raise(L, err)
	}
	if ctx.Err() != nil {
		// gopher-lua raises "context canceled" at the next instruction of
		// a cancelled state; Ctrl-C was aimed at the dashboard only, so the
		// rest of the chunk runs on under a context that is not cancelled.
		L.SetContext(context.WithoutCancel(ctx))
	}
	return 0
}
