package luaapi

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/faults"

	lua "github.com/yuin/gopher-lua"
)

// chaosModule is claims.chaos: faults on purpose, each real (a Redis
// command, a signal to a process) and each undone by itself (a pause
// ends, clients reconnect, a supervisor restarts what was killed), each
// told in Redis's terms with what to watch.
type chaosModule struct {
	store   *streams.Store
	workers *workersModule
	out     io.Writer
}

func (m *chaosModule) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"kill":           m.kill,
		"pause":          m.pause,
		"drop_clients":   m.dropClients,
		"slow":           m.slow,
		"crash_on":       m.crashOn,
		"restart_server": m.restartServer,
		"failover":       m.failover,
		"can":            m.can,
	}))
	return 1
}

// say prints a fault's lines: what it did, then what to watch.
func (m *chaosModule) say(did string, watch ...string) {
	fmt.Fprintln(m.out, "chaos: "+did)
	for _, w := range watch {
		fmt.Fprintln(m.out, "  watch: "+w)
	}
}

func (m *chaosModule) pause(L *lua.LState) int {
	ms := L.CheckNumber(1)
	if ms < 1 || ms > 60000 || ms != lua.LNumber(int64(ms)) {
		argError(L, 1, "pause", fmt.Sprintf("ms must be a whole number of milliseconds from 1 to 60000, got %v", ms))
	}
	d := time.Duration(ms) * time.Millisecond
	nodes, err := faults.PauseClients(ctxOf(L), m.store, d)
	if err != nil {
		return raise(L, fmt.Errorf("pause: %w", err))
	}
	m.say(fmt.Sprintf("CLIENT PAUSE %d ALL on %s: for %s the server answers no client (their commands wait, none fails); it ends by itself", int64(ms), strings.Join(nodes, ", "), d),
		"your next command and every worker's XREADGROUP wait the pause out; then the workers catch up (groups() shows the lag shrinking)")
	t := L.NewTable()
	t.RawSetString("ms", ms)
	t.RawSetString("nodes", toLua(L, nodes))
	L.Push(t)
	return 1
}

func (m *chaosModule) dropClients(L *lua.LState) int {
	n, nodes, err := faults.DropClients(ctxOf(L), m.store)
	if err != nil {
		return raise(L, fmt.Errorf("drop_clients: %w", err))
	}
	m.say(fmt.Sprintf("CLIENT KILL TYPE normal SKIPME yes on %s: closed %d client connections (workers, dashboards, other terminals, this session's other connections)", strings.Join(nodes, ", "), n),
		"each worker logs a failed read and reconnects (redis-cli CLIENT LIST shows them back); nothing is lost: what a worker had read but not acknowledged is still pending")
	t := L.NewTable()
	t.RawSetString("closed", lua.LNumber(n))
	t.RawSetString("nodes", toLua(L, nodes))
	L.Push(t)
	return 1
}

// can reports whether a fault is possible here, and why not.
func (m *chaosModule) can(L *lua.LState) int {
	fault := L.CheckString(1)
	ctx := ctxOf(L)
	var why error
	switch fault {
	case "kill", "slow", "crash_on":
	case "pause", "drop_clients":
		// The server's own answer: CLIENT PAUSE 1 ms is harmless.
		if _, err := faults.PauseClients(ctx, m.store, time.Millisecond); err != nil {
			why = err
			if fault == "drop_clients" { // a server without CLIENT PAUSE has no CLIENT KILL either
				why = errors.New(strings.Replace(err.Error(), "CLIENT PAUSE", "CLIENT KILL", 1))
			}
		}
	case "restart_server":
		p, err := faults.ServerOf(ctx, m.store)
		switch {
		case err != nil:
			why = restartRefusal(err)
		case !p.AOF:
			why = fmt.Errorf("%s runs without AOF: a restart would lose the events", p.Addr)
		default:
			why = servedByClaimsctl(p.Addr, p.PID, "--aof")
		}
	case "failover", "failover_kill":
		sh, err := faults.ShardOf(ctx, m.store, 0)
		if err == nil && fault == "failover_kill" {
			err = servedByClaimsctl(sh.Master.Addr, sh.Master.PID, "--cluster")
		}
		why = err
	default:
		argError(L, 1, "can", fmt.Sprintf("no fault %q (kill, pause, drop_clients, slow, crash_on, restart_server, failover, failover_kill)", fault))
	}
	L.Push(lua.LBool(why == nil))
	if why != nil {
		L.Push(lua.LString(strings.TrimSuffix(why.Error(), ": "+faults.ErrNoFault.Error())))
		return 2
	}
	return 1
}
