package luaapi

import (
	"fmt"
	"os"
	"path/filepath"

	lua "github.com/yuin/gopher-lua"
)

func (r *Runtime) reportFuncs() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"report":    r.report,
		"dashboard": r.dashboard,
	}
}

// report([{out="data/claims-analytics-report.json"}]) -> report table
func (r *Runtime) report(L *lua.LState) int {
	o := optionsAt(L, 1, "report", "out")
	rep, err := r.store.Report(ctxOf(L))
	if err != nil {
		return raise(L, err)
	}
	if out := o.str("out", ""); out != "" {
		raw, err := rep.JSON()
		if err != nil {
			return raise(L, fmt.Errorf("report: encode: %w", err))
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return raise(L, fmt.Errorf("report: %w", err))
		}
		if err := os.WriteFile(out, raw, 0o644); err != nil {
			return raise(L, fmt.Errorf("report: %w", err))
		}
	}
	t := structToLua(L, rep)
	if out := o.str("out", ""); out != "" {
		r.echo(t, "report of %d claims written to %s", rep.Claims, out)
	}
	L.Push(t)
	return 1
}
