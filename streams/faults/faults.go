package faults

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
)

// ErrNoFault says the server cannot have this fault (the embedded server
// has no CLIENT PAUSE, no process to kill; one node has no replica).
var ErrNoFault = errors.New("not possible on this server")

// eachNode runs fn on the one node, or on every master of a cluster, the
// masters at once: fn guards what it shares.
func eachNode(ctx context.Context, s *streams.Store, fn func(ctx context.Context, addr string, c *redis.Client) error) error {
	switch c := s.Client().(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return fn(ctx, n.Options().Addr, n)
		})
	case *redis.Client:
		return fn(ctx, c.Options().Addr, c)
	}
	return fmt.Errorf("%T: %w", s.Client(), ErrNoFault)
}

// unsupportedFault turns the embedded server's refusal into ErrNoFault.
func unsupportedFault(what string, err error) error {
	if redisconn.Classify(err) == redisconn.KindUnsupported {
		return fmt.Errorf("%s: the embedded server (miniredis) has no such command: %w", what, ErrNoFault)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// PauseClients sends CLIENT PAUSE d ALL to every node: each stops
// answering every client but this connection's for d (commands wait,
// they do not fail). It returns the nodes paused.
func PauseClients(ctx context.Context, s *streams.Store, d time.Duration) ([]string, error) {
	if d <= 0 {
		return nil, fmt.Errorf("pause clients: %s is no pause: %w", d, claims.ErrInvalid)
	}
	var (
		mu    sync.Mutex
		nodes []string
	)
	err := eachNode(ctx, s, func(ctx context.Context, addr string, c *redis.Client) error {
		if err := c.Do(ctx, "CLIENT", "PAUSE", d.Milliseconds(), "ALL").Err(); err != nil {
			return unsupportedFault("CLIENT PAUSE on "+addr, err)
		}
		mu.Lock()
		defer mu.Unlock()
		nodes = append(nodes, addr)
		return nil
	})
	sort.Strings(nodes)
	return nodes, err
}

// DropClients sends CLIENT KILL TYPE normal SKIPME yes to every node: it
// closes every client connection but the one sending it (replicas and
// the cluster bus are not "normal"). This store's own other connections
// go too. It returns how many were closed, and on which nodes.
func DropClients(ctx context.Context, s *streams.Store) (int64, []string, error) {
	var (
		mu     sync.Mutex
		closed int64
		nodes  []string
	)
	err := eachNode(ctx, s, func(ctx context.Context, addr string, c *redis.Client) error {
		n, err := c.ClientKillByFilter(ctx, "TYPE", "normal", "SKIPME", "yes").Result()
		if err != nil {
			return unsupportedFault("CLIENT KILL on "+addr, err)
		}
		mu.Lock()
		defer mu.Unlock()
		closed += n
		nodes = append(nodes, addr)
		return nil
	})
	sort.Strings(nodes)
	return closed, nodes, err
}

// ServerProcess is a redis-server as INFO server describes it.
type ServerProcess struct {
	Addr  string // as the client dials it
	PID   int    // process_id
	RunID string
	AOF   bool // appendonly: its data survives a restart
}

// serverProcess reads a node's INFO server and persistence.
func serverProcess(ctx context.Context, addr string, c redis.Cmdable) (ServerProcess, error) {
	// The embedded server takes one section at a time, and has neither.
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return ServerProcess{}, unsupportedFault("INFO server on "+addr, err)
	}
	persistence, err := c.Info(ctx, "persistence").Result()
	if err != nil {
		return ServerProcess{}, unsupportedFault("INFO persistence on "+addr, err)
	}
	info += "\n" + persistence
	p := ServerProcess{Addr: addr}
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch k {
		case "process_id":
			p.PID, _ = strconv.Atoi(v)
		case "run_id":
			p.RunID = v
		case "aof_enabled":
			p.AOF = v == "1"
		}
	}
	if p.PID == 0 {
		return p, fmt.Errorf("INFO server on %s names no process_id: %w", addr, ErrNoFault)
	}
	return p, nil
}

// ServerOf is the process of the one redis-server the store talks to.
func ServerOf(ctx context.Context, s *streams.Store) (ServerProcess, error) {
	c, ok := s.Client().(*redis.Client)
	if !ok {
		return ServerProcess{}, fmt.Errorf("a cluster has a process per node (see Shard): %w", ErrNoFault)
	}
	return serverProcess(ctx, c.Options().Addr, c)
}

// WaitRestarted waits until the server answers again as another process
// than was (a new run_id) and has loaded its data, and returns it.
func WaitRestarted(ctx context.Context, s *streams.Store, was ServerProcess) (ServerProcess, error) {
	c, ok := s.Client().(*redis.Client)
	if !ok {
		return ServerProcess{}, fmt.Errorf("wait for a restart: %w", ErrNoFault)
	}
	for {
		p, err := serverProcess(ctx, was.Addr, c)
		if err == nil && p.RunID != was.RunID && c.Ping(ctx).Err() == nil {
			return p, nil
		}
		select {
		case <-ctx.Done():
			return ServerProcess{}, fmt.Errorf("wait for %s to come back: %w", was.Addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Shard is the master serving a partition's event stream and its
// replicas, as the cluster sees them now.
type Shard struct {
	Stream   string
	Slot     int64
	Master   ServerProcess
	MasterID string
	Replicas []string // addresses
}

// ShardOf finds the master serving partition's stream and its replicas.
func ShardOf(ctx context.Context, s *streams.Store, partition int) (Shard, error) {
	c, ok := s.Client().(*redis.ClusterClient)
	if !ok {
		return Shard{}, fmt.Errorf("failover needs a Redis Cluster with replicas: one server has no replica to take over: %w", ErrNoFault)
	}
	if partition < 0 || partition >= s.Keys().Partitions() {
		return Shard{}, fmt.Errorf("no partition %d (the store has %d: 0 to %d): %w", partition, s.Keys().Partitions(), s.Keys().Partitions()-1, claims.ErrInvalid)
	}
	sh := Shard{Stream: s.Keys().Partition(partition).Events()}
	slot, err := c.ClusterKeySlot(ctx, sh.Stream).Result()
	if err != nil {
		return sh, fmt.Errorf("CLUSTER KEYSLOT %s: %w", sh.Stream, err)
	}
	sh.Slot = slot
	master, err := c.MasterForKey(ctx, sh.Stream)
	if err != nil {
		return sh, fmt.Errorf("the master of %s: %w", sh.Stream, err)
	}
	addr := master.Options().Addr
	if sh.Master, err = serverProcess(ctx, addr, master); err != nil {
		return sh, err
	}
	if sh.MasterID, err = master.Do(ctx, "CLUSTER", "MYID").Text(); err != nil {
		return sh, fmt.Errorf("CLUSTER MYID on %s: %w", addr, err)
	}
	lines, err := master.Do(ctx, "CLUSTER", "REPLICAS", sh.MasterID).StringSlice()
	if err != nil {
		return sh, fmt.Errorf("CLUSTER REPLICAS on %s: %w", addr, err)
	}
	listed := 0
	for _, line := range lines {
		if f := strings.Fields(line); len(f) > 7 && !strings.Contains(f[2], "fail") {
			listed++
			// A replica still copying its master (one that just joined, a
			// master demoted by a failover) is not elected: it would leave
			// the slots without a master if this one died now.
			if r := strings.Split(f[1], "@")[0]; inSync(ctx, s, r) {
				sh.Replicas = append(sh.Replicas, r)
			}
		}
	}
	sort.Strings(sh.Replicas)
	switch {
	case listed > 0 && len(sh.Replicas) == 0:
		return sh, fmt.Errorf("master %s (slot %d, %s) has no replica in sync yet (INFO replication: master_link_status is not up; a replica that just joined copies its master first): %w", addr, slot, sh.Stream, ErrNoFault)
	case len(sh.Replicas) == 0:
		return sh, fmt.Errorf("master %s (slot %d, %s) has no replica to take over: %w", addr, slot, sh.Stream, ErrNoFault)
	}
	return sh, nil
}

// inSync reports whether a replica's link to its master is up, by its
// INFO replication.
func inSync(ctx context.Context, s *streams.Store, replica string) bool {
	n, err := node(s, replica)
	if err != nil {
		return false
	}
	defer n.Close()
	info, err := n.Info(ctx, "replication").Result()
	return err == nil && strings.Contains(info, "master_link_status:up")
}

// node is a client of one node of the cluster, by address, with the
// cluster client's credentials; close it after use.
func node(s *streams.Store, addr string) (*redis.Client, error) {
	c, ok := s.Client().(*redis.ClusterClient)
	if !ok {
		return nil, fmt.Errorf("node %s: %w", addr, ErrNoFault)
	}
	return redisconn.NodeClient(c, addr), nil
}

// Failover sends CLUSTER FAILOVER to a replica: it catches up with its
// master, which stops taking writes meanwhile, and takes its slots over.
func Failover(ctx context.Context, s *streams.Store, replica string) error {
	n, err := node(s, replica)
	if err != nil {
		return err
	}
	defer n.Close()
	if err := n.ClusterFailover(ctx).Err(); err != nil {
		return fmt.Errorf("CLUSTER FAILOVER on %s: %w", replica, err)
	}
	return nil
}

// WaitPromoted waits until one of the replicas says in CLUSTER NODES that
// it is now a master ("myself,master"), and returns it. The client learns
// the new layout at its next MOVED or failed command.
func WaitPromoted(ctx context.Context, s *streams.Store, replicas []string) (string, error) {
	for {
		for _, addr := range replicas {
			n, err := node(s, addr)
			if err != nil {
				return "", err
			}
			nodes, err := n.ClusterNodes(ctx).Result()
			n.Close()
			if err != nil {
				continue
			}
			for _, line := range strings.Split(nodes, "\n") {
				if f := strings.Fields(line); len(f) > 2 && strings.Contains(f[2], "myself") && strings.Contains(f[2], "master") {
					if c, ok := s.Client().(*redis.ClusterClient); ok {
						c.ReloadState(ctx)
					}
					return addr, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("wait for %s to become master: %w", strings.Join(replicas, " or "), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
