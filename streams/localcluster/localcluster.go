// Package localcluster starts a Redis Cluster of real redis-server
// processes on 127.0.0.1: for `claimsctl serve --cluster N` and for tests
// of the store on a cluster.
//
// Start runs every node on loopback ports of its own, forms the cluster
// itself (CLUSTER MEET, ADDSLOTSRANGE, REPLICATE over plain RESP; no
// redis-cli) and returns once every node reports cluster_state:ok. Kill
// crashes a node (SIGKILL), WaitFailover waits for its replica to take over,
// Restart brings it back with its identity, and Stop ends every process
// Start started, by PID. The package needs the standard library and the
// redis-server binary only.
//
// A master cannot report cluster_state:ok within 2 s of its start (Redis's
// CLUSTER_WRITABLE_DELAY), so a cluster takes a little over 2 s to form
// whatever its size; the nodes start at once, so forming fits in that delay.
//
// It imports nothing of claimsctl (the standard library only).
package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// SlotCount is the number of hash slots of every Redis Cluster.
	SlotCount = 16384
	// DefaultNodeTimeout is the default cluster-node-timeout: a node that
	// has not answered for this long is suspected, and a master is failed
	// over about one to two timeouts later. Redis's own default is 15 s;
	// on loopback a short one makes failover quick to watch and to test.
	DefaultNodeTimeout = time.Second
	// DefaultFormTimeout bounds Start when its context has no deadline.
	DefaultFormTimeout = 30 * time.Second
	// stopGrace is how long a node may take to shut down on SIGTERM before
	// it is killed.
	stopGrace = 10 * time.Second
)

// ErrNoRedisServer is returned by Start when redis-server is not on PATH.
var ErrNoRedisServer = errors.New("redis-server not found on PATH; install it with `apt-get install redis-server`")

// ErrPortInUse is returned by Start when a port of Options.BasePort's
// range is taken; free ports are picked again instead.
var ErrPortInUse = errors.New("already in use")

// Options configure Start. Masters and Dir are required.
type Options struct {
	// Masters is the number of masters, which split the slots evenly. One
	// master makes a working cluster, but failover needs a majority of
	// masters to vote: three at least.
	Masters int
	// Replicas is the number of replicas of each master (0 by default).
	Replicas int
	// Dir holds every node's cluster config (nodes-PORT.conf), log
	// (redis-PORT.log) and AOF (appendonly-PORT/). It is created if missing
	// and must not hold another cluster's nodes-*.conf.
	Dir string
	// AOF turns on the append-only file, so a node's data survives Kill and
	// Restart.
	AOF bool
	// NodeTimeout is cluster-node-timeout; DefaultNodeTimeout if zero.
	NodeTimeout time.Duration
	// BasePort, if set, puts node i on port BasePort+i and its cluster bus
	// on BasePort+10000+i, as Redis's create-cluster script does; otherwise
	// every port is a free one the kernel picks.
	BasePort int
	// Log receives a line per step (a node started, the cluster formed, a
	// node killed); nil discards them. The nodes' own logs are in Dir.
	Log io.Writer
	// Bin is the redis-server binary; by default the one on PATH.
	Bin string
	// Args are extra redis-server arguments for every node, after the
	// defaults so they override them.
	Args []string
}

// Role is a node's part in the cluster.
type Role string

const (
	RoleMaster  Role = "master"
	RoleReplica Role = "replica"
)

// SlotRange is the hash slots From to To, both included.
type SlotRange struct{ From, To int }

func (r SlotRange) String() string {
	if r.From == r.To {
		return fmt.Sprint(r.From)
	}
	return fmt.Sprintf("%d-%d", r.From, r.To)
}

// Node describes one node. Role, Master and Slots are as last observed by
// Start, WaitHealthy or WaitFailover.
type Node struct {
	Index int
	Addr  string // 127.0.0.1:PORT; the same across restarts
	Port  int
	PID   int    // 0 while the node is not running
	ID    string // the cluster node id; the same across restarts
	Role  Role
	// Master is the index of a replica's master; -1 for a master.
	Master int
	Slots  []SlotRange
}

// Cluster is a running local Redis Cluster. Nodes 0 to Masters-1 start as
// the masters; then come the replicas, master 0's first. Its methods are
// safe for concurrent use.
type Cluster struct {
	opts Options
	bin  string

	logMu sync.Mutex // serialises opts.Log

	mu    sync.Mutex
	nodes []*node
}

// Start starts the nodes, forms the cluster and waits until every node
// reports cluster_state:ok, every slot is served and every replica is in
// sync with its master. On failure every process it started is stopped.
// Without a deadline on ctx, it gives up after DefaultFormTimeout.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if opts.NodeTimeout == 0 {
		opts.NodeTimeout = DefaultNodeTimeout
	}
	bin := opts.Bin
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			return nil, ErrNoRedisServer
		}
	}
	if err := checkVersion(bin); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("local cluster directory: %w", err)
	}
	if old, _ := filepath.Glob(filepath.Join(opts.Dir, "nodes-*.conf")); len(old) > 0 {
		return nil, fmt.Errorf("local cluster directory %s holds another cluster's %s; use an empty directory",
			opts.Dir, filepath.Base(old[0]))
	}
	c := &Cluster{opts: opts, bin: bin}
	if err := c.plan(); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultFormTimeout)
		defer cancel()
	}
	began := time.Now()
	if err := c.form(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	c.logf("cluster ok: %s, formed in %v", Describe(opts.Masters, opts.Replicas), time.Since(began).Round(time.Millisecond))
	return c, nil
}

func (o *Options) check() error {
	switch {
	case o.Masters < 1:
		return fmt.Errorf("local cluster: %d masters; a cluster needs at least 1 (3 for failover)", o.Masters)
	case o.Replicas < 0:
		return fmt.Errorf("local cluster: %d replicas per master; 0 or more", o.Replicas)
	case o.Dir == "":
		return errors.New("local cluster: no directory for the nodes' files (Options.Dir)")
	case o.NodeTimeout < 0:
		return fmt.Errorf("local cluster: negative node timeout %v", o.NodeTimeout)
	case o.BasePort < 0 || o.BasePort > 0 && o.BasePort+10000+o.Masters*(1+o.Replicas)-1 > 65535:
		return fmt.Errorf("local cluster: base port %d: the nodes and their cluster bus (port+10000) must fit below 65536",
			o.BasePort)
	}
	return nil
}

// plan lays out the nodes, their ports and their intended roles.
func (c *Cluster) plan() error {
	m, r := c.opts.Masters, c.opts.Replicas
	n := m * (1 + r)
	var ports []int
	if c.opts.BasePort == 0 {
		var err error
		if ports, err = freePorts(2 * n); err != nil {
			return fmt.Errorf("pick free ports: %w", err)
		}
	}
	for i := range n {
		nd := &node{index: i, role: RoleMaster, master: -1}
		if c.opts.BasePort != 0 {
			nd.port, nd.busPort = c.opts.BasePort+i, c.opts.BasePort+10000+i
		} else {
			nd.port, nd.busPort = ports[2*i], ports[2*i+1]
		}
		if i < m {
			nd.slots = []SlotRange{{From: i * SlotCount / m, To: (i+1)*SlotCount/m - 1}}
		} else {
			nd.role, nd.master = RoleReplica, (i-m)/r
		}
		c.nodes = append(c.nodes, nd)
	}
	return nil
}

// Describe words a cluster's shape: "3 masters, 1 replica each".
func Describe(masters, replicas int) string {
	s := plural(masters, "master")
	switch replicas {
	case 0:
		return s + ", no replicas"
	case 1:
		return s + ", 1 replica each"
	}
	return fmt.Sprintf("%s, %d replicas each", s, replicas)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// checkVersion refuses a redis-server older than 7.0, which lacks CLUSTER
// ADDSLOTSRANGE and cluster-port (Debian 11's is 6.0).
func checkVersion(bin string) error {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %w", bin, err)
	}
	// "Redis server v=7.0.15 sha=…"
	_, v, _ := strings.Cut(string(out), " v=")
	v, _, _ = strings.Cut(v, " ")
	major, _, _ := strings.Cut(v, ".")
	if n, err := strconv.Atoi(major); err != nil || n < 7 {
		return fmt.Errorf("%s is Redis %q; a local cluster needs Redis 7.0 or newer", bin, v)
	}
	return nil
}

// Addrs returns every node's address, in index order.
func (c *Cluster) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.addr()
	}
	return addrs
}

// Masters returns the addresses of the nodes that serve slots, as last
// observed.
func (c *Cluster) Masters() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var addrs []string
	for _, n := range c.nodes {
		if n.role == RoleMaster && len(n.slots) > 0 {
			addrs = append(addrs, n.addr())
		}
	}
	return addrs
}

// Seeds returns the addresses to give a cluster client (claimsctl
// --cluster, redis.ClusterOptions.Addrs): the masters as formed. A client
// needs one that answers and learns the rest from it, so the list stays
// good after a failover.
func (c *Cluster) Seeds() []string {
	return c.Addrs()[:c.opts.Masters]
}

// Len returns the number of nodes.
func (c *Cluster) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nodes)
}

// Node describes node i (0 <= i < Len()).
func (c *Cluster) Node(i int) Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[i]
	d := Node{Index: i, Addr: n.addr(), Port: n.port, ID: n.id, Role: n.role, Master: n.master,
		Slots: append([]SlotRange(nil), n.slots...)}
	if n.proc != nil {
		d.PID = n.proc.pid()
	}
	return d
}

// Kill stops node i abruptly with SIGKILL, as a crash would, and waits for
// it to exit. It does nothing if the node is not running.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	n := c.nodes[i]
	p := n.proc
	n.proc = nil
	c.mu.Unlock()
	if p == nil {
		return
	}
	p.kill()
	c.logf("node %d (%s, pid %d) killed", i, n.addr(), p.pid())
}

// Restart starts node i again on its ports with its cluster config (and
// AOF), so it rejoins as the same node, and waits until it answers PING;
// WaitHealthy then waits until the cluster has taken it back. A node that
// is still running is stopped gracefully first.
func (c *Cluster) Restart(i int) error {
	c.mu.Lock()
	n := c.nodes[i]
	p := n.proc
	n.proc = nil
	c.mu.Unlock()
	if p != nil {
		p.stop(stopGrace)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	p, err := c.run(ctx, n)
	if err != nil {
		return fmt.Errorf("restart node %d on %s: %w\n--- %s ---\n%s", i, n.addr(), err, c.logPath(n.port), tail(c.logPath(n.port), logTail))
	}
	id, err := call(ctx, n.addr(), "CLUSTER", "MYID")
	if err == nil && id != n.id {
		err = fmt.Errorf("it came back as node %s, not %s (was nodes-%d.conf removed?)", id, n.id, n.port)
	}
	if err != nil {
		p.kill()
		return fmt.Errorf("restart node %d on %s: %w", i, n.addr(), err)
	}
	c.mu.Lock()
	n.proc = p
	c.mu.Unlock()
	c.logf("node %d (%s) restarted, pid %d", i, n.addr(), p.pid())
	return nil
}

// Stop shuts every running node down with SIGTERM, all at once, and waits;
// a node still running 10 s later is killed. It stops only the processes
// the cluster started, by PID, and does nothing for a node not running.
// The files in Dir stay.
func (c *Cluster) Stop() {
	c.mu.Lock()
	var procs []*process
	for _, n := range c.nodes {
		if n.proc != nil {
			procs = append(procs, n.proc)
			n.proc = nil
		}
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(func() { p.stop(stopGrace) })
	}
	wg.Wait()
}

// Logs returns the last lines (all of it if lines <= 0) of every node's
// log, each under a header naming the node.
func (c *Cluster) Logs(lines int) string {
	c.mu.Lock()
	nodes := make([]node, len(c.nodes))
	for i, n := range c.nodes {
		nodes[i] = *n
	}
	c.mu.Unlock()
	var b strings.Builder
	for _, n := range nodes {
		path := c.logPath(n.port)
		fmt.Fprintf(&b, "--- node %d %s (%s) %s ---\n", n.index, n.addr(), n.role, path)
		if lines > 0 {
			b.WriteString(tail(path, lines))
		} else {
			b.WriteString(readFrom(path, 0))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (c *Cluster) logf(format string, args ...any) {
	if c.opts.Log == nil {
		return
	}
	c.logMu.Lock()
	defer c.logMu.Unlock()
	fmt.Fprintf(c.opts.Log, "localcluster: "+format+"\n", args...)
}
