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
			// Its role as the others see it now: a failover someone asked
			// for (CLUSTER FAILOVER) since the last WaitHealthy swapped it.
			c.observe(ctx, i)
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

// observe records node i's role and slots as the first running node that
// answers sees them in CLUSTER NODES; it leaves them as they were when none
// does.
func (c *Cluster) observe(ctx context.Context, i int) {
	c.mu.Lock()
	id := c.nodes[i].id
	var addrs []string
	for _, n := range c.nodes {
		if n.index != i && n.proc != nil {
			addrs = append(addrs, n.addr())
		}
	}
	c.mu.Unlock()
	for _, addr := range addrs {
		replies, err := pipeline(ctx, addr, []string{"CLUSTER", "NODES"})
		if err != nil {
			continue
		}
		out, err := text(replies[0])
		if err != nil {
			continue
		}
		entries, err := parseNodes(out)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.id != id {
				continue
			}
			c.mu.Lock()
			n := c.nodes[i]
			n.role, n.master, n.slots = RoleMaster, -1, e.slots
			if e.flags["slave"] {
				n.role, n.slots = RoleReplica, nil
				for _, m := range c.nodes {
					if m.id == e.master {
						n.master = m.index
					}
				}
			}
			c.mu.Unlock()
			return
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
