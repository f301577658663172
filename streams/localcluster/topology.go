package localcluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// form starts every node and makes them one cluster: distinct config
// epochs, each master's slots, a MEET between every pair (so no node waits
// for gossip to learn of another), then the replicas, once they know their
// masters.
func (c *Cluster) form(ctx context.Context) error {
	// All at once: each master's 2 s writable delay runs from its start, so
	// it overlaps with everything else here.
	if err := c.eachNode(func(n *node) error { return c.start(ctx, n) }); err != nil {
		return err
	}
	err := c.eachNode(func(n *node) error {
		id, err := call(ctx, n.addr(), "CLUSTER", "MYID")
		if err != nil {
			return fmt.Errorf("node %d: CLUSTER MYID: %w", n.index, err)
		}
		c.mu.Lock()
		n.id = id
		c.mu.Unlock()
		// As redis-cli --cluster create does: distinct epochs spare the
		// nodes resolving a collision of everyone's epoch 0.
		if _, err := call(ctx, n.addr(), "CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(n.index+1)); err != nil {
			return fmt.Errorf("node %d: CLUSTER SET-CONFIG-EPOCH: %w", n.index, err)
		}
		for _, r := range n.slots {
			if _, err := call(ctx, n.addr(), "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(r.From), strconv.Itoa(r.To)); err != nil {
				return fmt.Errorf("node %d: CLUSTER ADDSLOTSRANGE %s: %w", n.index, r, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, a := range c.nodes {
		for _, b := range c.nodes[i+1:] {
			if _, err := call(ctx, a.addr(), "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(b.port), strconv.Itoa(b.busPort)); err != nil {
				return fmt.Errorf("node %d: CLUSTER MEET %s: %w", a.index, b.addr(), err)
			}
		}
	}
	if err := c.poll(ctx, "every node to know every other", c.allKnown); err != nil {
		return err
	}
	err = c.eachNode(func(n *node) error {
		if n.role != RoleReplica {
			return nil
		}
		if _, err := call(ctx, n.addr(), "CLUSTER", "REPLICATE", c.nodes[n.master].id); err != nil {
			return fmt.Errorf("node %d: CLUSTER REPLICATE node %d: %w", n.index, n.master, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.WaitHealthy(ctx)
}

// eachNode runs fn for every node at once and joins their errors.
func (c *Cluster) eachNode(fn func(*node) error) error {
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		wg.Go(func() { errs[i] = fn(n) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// allKnown checks that every node lists every node of the cluster, none of
// them still in handshake.
func (c *Cluster) allKnown(ctx context.Context) error {
	for _, n := range c.nodes {
		out, err := call(ctx, n.addr(), "CLUSTER", "NODES")
		if err != nil {
			return fmt.Errorf("node %d: CLUSTER NODES: %w", n.index, err)
		}
		entries, err := parseNodes(out)
		if err != nil {
			return fmt.Errorf("node %d: %w", n.index, err)
		}
		if len(entries) != len(c.nodes) {
			return fmt.Errorf("node %d knows %d of %d nodes", n.index, len(entries), len(c.nodes))
		}
		for _, e := range entries {
			if e.flags["handshake"] || e.flags["noaddr"] {
				return fmt.Errorf("node %d: %s is still in handshake", n.index, e.addr)
			}
		}
	}
	return nil
}

// WaitHealthy waits until every running node reports cluster_state:ok and
// every slot served, all of them agree on who serves which slots and who
// replicates whom, every slot's master is a running node, and every running
// replica's link to its master is up. It then records each node's role and
// slots (Node). A node that exits by itself meanwhile ends the wait with an
// error; so does ctx.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	return c.poll(ctx, "the cluster to be healthy", c.healthy)
}

// WaitFailover waits until the slots of master i, killed with Kill, are
// served by another node and the cluster is healthy again, and returns that
// node's index: one of i's replicas, promoted.
func (c *Cluster) WaitFailover(ctx context.Context, i int) (int, error) {
	before := c.Node(i)
	switch {
	case before.PID != 0:
		return -1, fmt.Errorf("wait for failover of node %d: it is running; Kill it first", i)
	case before.Role != RoleMaster || len(before.Slots) == 0:
		return -1, fmt.Errorf("wait for failover of node %d: it served no slots", i)
	}
	if err := c.WaitHealthy(ctx); err != nil {
		return -1, fmt.Errorf("wait for failover of node %d: %w", i, err)
	}
	slot := before.Slots[0].From
	for j := range c.Len() {
		n := c.Node(j)
		if !slices.ContainsFunc(n.Slots, func(r SlotRange) bool { return r.From <= slot && slot <= r.To }) {
			continue
		}
		if j == i {
			return -1, fmt.Errorf("wait for failover of node %d: it still serves slot %d", i, slot)
		}
		return j, nil
	}
	return -1, fmt.Errorf("wait for failover of node %d: nobody serves slot %d", i, slot)
}

// nodeExited is a node that exited without Kill or Stop: waiting on is
// pointless.
type nodeExited struct {
	index int
	addr  string
	err   error
	log   string
}

func (e *nodeExited) Error() string {
	return fmt.Sprintf("node %d (%s) exited by itself (%v); its log ends:\n%s", e.index, e.addr, e.err, e.log)
}

// poll calls check until it succeeds, a node exits by itself, or ctx ends.
func (c *Cluster) poll(ctx context.Context, what string, check func(context.Context) error) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		last := c.exited()
		if last == nil {
			if last = check(ctx); last == nil {
				return nil
			}
		}
		var exited *nodeExited
		if errors.As(last, &exited) {
			return last
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (%w)", what, last, ctx.Err())
		case <-tick.C:
		}
	}
}

// exited reports a node that should be running but has exited.
func (c *Cluster) exited() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if n.proc != nil && n.proc.exited() {
			return &nodeExited{index: n.index, addr: n.addr(), err: n.proc.err, log: tail(c.logPath(n.port), logTail)}
		}
	}
	return nil
}

// placement is one node's part as a view of the cluster sees it.
type placement struct {
	role   Role
	master int
	slots  []SlotRange
}

func (p placement) String() string {
	s := string(p.role)
	if p.role == RoleReplica {
		s += " of " + strconv.Itoa(p.master)
	}
	for _, r := range p.slots {
		s += " " + r.String()
	}
	return s
}

// healthy is one health check: see WaitHealthy. On success it records the
// agreed placement of every node.
func (c *Cluster) healthy(ctx context.Context) error {
	c.mu.Lock()
	byID := make(map[string]int, len(c.nodes))
	running := make([]bool, len(c.nodes))
	for _, n := range c.nodes {
		byID[n.id] = n.index
		running[n.index] = n.proc != nil
	}
	c.mu.Unlock()

	var agreed []placement
	agreedBy := -1
	for _, n := range c.nodes {
		if !running[n.index] {
			continue
		}
		view, err := c.view(ctx, n, byID, running)
		if err != nil {
			return fmt.Errorf("node %d (%s): %w", n.index, n.addr(), err)
		}
		if agreed == nil {
			agreed, agreedBy = view, n.index
			continue
		}
		for i := range view {
			if view[i].String() != agreed[i].String() {
				return fmt.Errorf("node %d sees node %d as %s, node %d as %s", agreedBy, i, agreed[i], n.index, view[i])
			}
		}
	}
	if agreed == nil {
		return errors.New("no node is running")
	}
	c.mu.Lock()
	for i, p := range agreed {
		c.nodes[i].role, c.nodes[i].master, c.nodes[i].slots = p.role, p.master, p.slots
	}
	c.mu.Unlock()
	return nil
}

// view checks node n's own health and returns its view of every node's
// placement.
func (c *Cluster) view(ctx context.Context, n *node, byID map[string]int, running []bool) ([]placement, error) {
	replies, err := pipeline(ctx, n.addr(),
		[]string{"CLUSTER", "INFO"}, []string{"CLUSTER", "NODES"}, []string{"INFO", "replication"})
	if err != nil {
		return nil, err
	}
	var out [3]string
	for i, r := range replies {
		if out[i], err = text(r); err != nil {
			return nil, err
		}
	}
	info, nodesOut, repl := out[0], out[1], out[2]
	if s := infoField(info, "cluster_state"); s != "ok" {
		return nil, fmt.Errorf("cluster_state:%s", s)
	}
	if s := infoField(info, "cluster_slots_ok"); s != strconv.Itoa(SlotCount) {
		return nil, fmt.Errorf("cluster_slots_ok:%s of %d", s, SlotCount)
	}
	entries, err := parseNodes(nodesOut)
	if err != nil {
		return nil, err
	}
	if len(entries) != len(c.nodes) {
		return nil, fmt.Errorf("knows %d of %d nodes", len(entries), len(c.nodes))
	}
	view := make([]placement, len(c.nodes))
	served := 0
	for _, e := range entries {
		i, ok := byID[e.id]
		if !ok {
			return nil, fmt.Errorf("knows node %s at %s, which is none of this cluster's", e.id, e.addr)
		}
		p := placement{role: RoleMaster, master: -1, slots: e.slots}
		if e.flags["slave"] {
			m, known := byID[e.master]
			if !known {
				return nil, fmt.Errorf("sees node %d as a replica of %s, none of this cluster's nodes", i, e.master)
			}
			p.role, p.master = RoleReplica, m
		}
		if len(e.slots) > 0 && !running[i] {
			return nil, fmt.Errorf("sees node %d, which is not running, serving slots %s", i, e.slots[0])
		}
		for _, r := range e.slots {
			served += r.To - r.From + 1
		}
		if e.flags["myself"] {
			if i != n.index {
				return nil, fmt.Errorf("answers as node %d", i)
			}
			if p.role == RoleReplica {
				if s := infoField(repl, "master_link_status"); s != "up" {
					return nil, fmt.Errorf("replica's link to its master is %s", s)
				}
			}
		}
		view[i] = p
	}
	if served != SlotCount {
		return nil, fmt.Errorf("sees %d of %d slots served", served, SlotCount)
	}
	return view, nil
}

// entry is one line of CLUSTER NODES.
type entry struct {
	id, addr string
	flags    map[string]bool
	master   string // the master's id, or "-"
	slots    []SlotRange
}

// parseNodes reads CLUSTER NODES: id ip:port@bus[,hostname] flags master
// ping-sent pong-recv epoch link slot... Slots in migration ([slot->-id])
// are not served yet and are left out.
func parseNodes(s string) ([]entry, error) {
	var entries []entry
	for line := range strings.SplitSeq(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("CLUSTER NODES line %q: too few fields", line)
		}
		e := entry{id: f[0], master: f[3], flags: map[string]bool{}}
		e.addr, _, _ = strings.Cut(f[1], "@")
		for flag := range strings.SplitSeq(f[2], ",") {
			e.flags[flag] = true
		}
		for _, field := range f[8:] {
			if strings.HasPrefix(field, "[") {
				continue
			}
			from, to, isRange := strings.Cut(field, "-")
			if !isRange {
				to = from
			}
			a, errA := strconv.Atoi(from)
			b, errB := strconv.Atoi(to)
			if errA != nil || errB != nil || a > b {
				return nil, fmt.Errorf("CLUSTER NODES line %q: bad slot range %q", line, field)
			}
			e.slots = append(e.slots, SlotRange{From: a, To: b})
		}
		slices.SortFunc(e.slots, func(x, y SlotRange) int { return x.From - y.From })
		entries = append(entries, e)
	}
	return entries, nil
}
