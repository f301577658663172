package luaapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"claimsctl/streams/faults"

	lua "github.com/yuin/gopher-lua"
)

// claims.chaos's server faults that take a process away: restart_server
// (the redis-server of a serve --aof) and failover (a cluster master).

func (m *chaosModule) restartServer(L *lua.LState) int {
	ctx := ctxOf(L)
	was, err := faults.ServerOf(ctx, m.store)
	if err != nil {
		return raise(L, fmt.Errorf("restart_server: %w", restartRefusal(err)))
	}
	if err := servedByClaimsctl(was.Addr, was.PID, "--aof"); err != nil {
		return raise(L, fmt.Errorf("restart_server: %w (run `claimsctl serve --aof` and point --redis at it)", err))
	}
	if !was.AOF {
		return raise(L, fmt.Errorf("restart_server: %s runs without AOF (appendonly no): a restart would lose the events", was.Addr))
	}
	before, err := m.store.State(ctx)
	if err != nil {
		return raise(L, fmt.Errorf("restart_server: %w", err))
	}
	start := time.Now()
	if err := killAndWait(was.PID); err != nil {
		return raise(L, fmt.Errorf("restart_server: %w", err))
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	now, err := faults.WaitRestarted(wctx, m.store, was)
	if err != nil {
		return raise(L, fmt.Errorf("restart_server: killed pid %d, but %w", was.PID, err))
	}
	down := time.Since(start)
	after, err := m.store.State(ctx)
	if err != nil {
		return raise(L, fmt.Errorf("restart_server: %w", err))
	}
	m.say(fmt.Sprintf("kill -9 %d (redis-server on %s); `claimsctl serve --aof` started it again as pid %d, which replayed its AOF: %d events before, %d after, back in %s",
		was.PID, was.Addr, now.PID, before.Events().Length, after.Events().Length, down.Round(time.Millisecond)),
		"every client saw its connection refused, then reconnected; workers log the outage and resume where their group's last_delivered_id stands (the groups are in the AOF too)")
	t := L.NewTable()
	t.RawSetString("pid_before", lua.LNumber(was.PID))
	t.RawSetString("pid_after", lua.LNumber(now.PID))
	t.RawSetString("events_before", lua.LNumber(before.Events().Length))
	t.RawSetString("events_after", lua.LNumber(after.Events().Length))
	t.RawSetString("down_ms", lua.LNumber(down.Milliseconds()))
	L.Push(t)
	return 1
}

// restartRefusal says why a server without one process cannot restart.
func restartRefusal(err error) error {
	if errors.Is(err, faults.ErrNoFault) && strings.Contains(err.Error(), "embedded") {
		return errors.New("the embedded server lives in a claimsctl process and keeps its data in memory only: it cannot restart and keep the events (run `claimsctl serve --aof` for a redis-server that can)")
	}
	return err
}

func (m *chaosModule) failover(L *lua.LState) int {
	ctx := ctxOf(L)
	partition := 0
	kill := false
	switch v := L.Get(1).(type) {
	case *lua.LNilType:
	case lua.LNumber:
		partition = int(v)
		if lua.LNumber(partition) != v {
			argError(L, 1, "failover", fmt.Sprintf("partition must be a whole number, got %v", v))
		}
	case lua.LString:
		if v != "master" {
			argError(L, 1, "failover", fmt.Sprintf("want a partition number or \"master\" (partition 0's), got %q", string(v)))
		}
	default:
		argError(L, 1, "failover", "want a partition number or \"master\", got "+v.Type().String())
	}
	o := optionsAt(L, 2, "failover", "kill")
	kill = o.boolean("kill", false)
	sh, err := faults.ShardOf(ctx, m.store, partition)
	if err != nil {
		return raise(L, fmt.Errorf("failover: %w", err))
	}
	start := time.Now()
	how := "CLUSTER FAILOVER on replica " + sh.Replicas[0]
	if kill {
		if err := servedByClaimsctl(sh.Master.Addr, sh.Master.PID, "--cluster"); err != nil {
			return raise(L, fmt.Errorf("failover{kill=true}: %w (failover() without kill asks the replica instead)", err))
		}
		if err := killAndWait(sh.Master.PID); err != nil {
			return raise(L, fmt.Errorf("failover: %w", err))
		}
		how = fmt.Sprintf("kill -9 %d (master %s)", sh.Master.PID, sh.Master.Addr)
	} else if err := faults.Failover(ctx, m.store, sh.Replicas[0]); err != nil {
		return raise(L, fmt.Errorf("failover: %w", err))
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	promoted, err := faults.WaitPromoted(wctx, m.store, sh.Replicas)
	if err != nil {
		return raise(L, fmt.Errorf("failover: after %s: %w", how, err))
	}
	took := time.Since(start)
	watch := []string{
		fmt.Sprintf("redis-cli -p %s CLUSTER NODES: %s is now master of slot %d (%s); ", portOf(promoted), promoted, sh.Slot, sh.Stream),
		"workers log MOVED or refused connections for a moment, reload the slot map and go on; an append in flight is retried, once (its version check refuses a double)",
	}
	if kill {
		watch[0] += "the dead master is started again by `claimsctl serve --cluster` and rejoins as its replica"
	} else {
		watch[0] += sh.Master.Addr + " is its replica now"
	}
	m.say(fmt.Sprintf("%s: replica %s took over slot %d (%s) from %s in %s", how, promoted, sh.Slot, sh.Stream, sh.Master.Addr, took.Round(time.Millisecond)), watch...)
	t := L.NewTable()
	t.RawSetString("old_master", lua.LString(sh.Master.Addr))
	t.RawSetString("new_master", lua.LString(promoted))
	t.RawSetString("slot", lua.LNumber(sh.Slot))
	t.RawSetString("stream", lua.LString(sh.Stream))
	t.RawSetString("how", lua.LString(how))
	t.RawSetString("ms", lua.LNumber(took.Milliseconds()))
	L.Push(t)
	return 1
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}
