package localcluster

import (
	"context"
	"strconv"
	"time"
)

// Revive keeps the cluster whole until ctx ends: a node that exited
// without Kill or Stop (someone ran kill -9 on its pid) is started again
// with its identity. A master is first left dead until its replica has
// taken its slots over (WaitFailover), so that it comes back as that
// replica's replica rather than before anyone noticed. say receives a
// line per step.
func (c *Cluster) Revive(ctx context.Context, say func(string)) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for i := range c.Len() {
			if !c.died(i) {
				continue
			}
			n := c.Node(i)
			say(n.Addr + " (" + string(n.Role) + ") died")
			if n.Role == RoleMaster && len(n.Slots) > 0 {
				if j, err := c.WaitFailover(ctx, i); err == nil {
					say(c.Node(j).Addr + " took its slots over")
				}
			}
			if ctx.Err() != nil {
				return
			}
			if err := c.Restart(i); err != nil {
				say("could not restart it: " + err.Error())
				continue
			}
			_ = c.WaitHealthy(ctx)
			m := c.Node(i)
			say(m.Addr + " is back as " + string(m.Role) + ", pid " + strconv.Itoa(m.PID))
		}
	}
}

// died reports whether node i exited by itself, and then marks it not
// running, as Kill does.
func (c *Cluster) died(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[i]
	if n.proc == nil || !n.proc.exited() {
		return false
	}
	n.proc = nil
	return true
}
