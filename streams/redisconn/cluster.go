package redisconn

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"claimsctl/streams/claims"

	"github.com/redis/go-redis/v9"
)

// A Redis Cluster is reached through its seed nodes (--cluster or
// REDIS_CLUSTER): go-redis's ClusterClient learns the rest and follows
// MOVED and failovers by itself, behind the same UniversalClient as one
// node.

// parseCluster reads a seed list, host:port[,host:port…]. The first seed
// may be a redis:// or rediss:// URL: its user, password and TLS apply to
// every node (a cluster shares its credentials). o.Password
// (REDIS_PASSWORD) applies when the URL gives none.
func parseCluster(o ConnectOptions) (*redis.UniversalOptions, string, error) {
	const want = "want host:port[,host:port…] (the first may be redis://[user:password@]host:port or rediss://)"
	seeds := strings.Split(o.Cluster, ",")
	opts := &redis.UniversalOptions{Password: o.Password, DialTimeout: o.Timeout, IsClusterMode: true}
	where := ""
	for i, raw := range seeds {
		raw = strings.TrimSpace(raw)
		if raw == "" && len(seeds) > 1 {
			continue // a trailing comma, as copied from a sentence
		}
		if strings.Contains(raw, "://") {
			if i > 0 {
				return nil, "", fmt.Errorf("--cluster %s: only the first seed may be a URL (the others are host:port): %s", redact(o.Cluster), want)
			}
			one, w, err := parseURL(ConnectOptions{URL: raw, Timeout: o.Timeout, RootCAs: o.RootCAs, InsecureSkipVerify: o.InsecureSkipVerify})
			if err != nil {
				return nil, "", fmt.Errorf("--cluster: %w", err)
			}
			if one.DB != 0 {
				return nil, "", fmt.Errorf("--cluster %s: a Redis Cluster has only database 0", redact(o.Cluster))
			}
			opts.Username, opts.TLSConfig = one.Username, one.TLSConfig
			if one.Password != "" {
				opts.Password = one.Password
			}
			raw, where = one.Addrs[0], strings.TrimPrefix(w, one.Addrs[0])
		}
		host, port, err := net.SplitHostPort(raw)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return nil, "", fmt.Errorf("--cluster %s: seed %q is not host:port: %s", redact(o.Cluster), redact(raw), want)
		}
		opts.Addrs = append(opts.Addrs, raw)
	}
	desc := "Redis Cluster via " + opts.Addrs[0]
	if n := len(opts.Addrs) - 1; n > 0 {
		desc += " and " + claims.Plural(int64(n), "other seed", "other seeds")
	}
	return opts, desc + where, nil
}

// dialCluster connects to a cluster through the seeds that answer (one is
// enough) and describes what it found.
func dialCluster(ctx context.Context, opts *redis.UniversalOptions, desc string) (*Backend, error) {
	opts.Protocol = 2
	var reachable []string
	var firstErr error
	for _, addr := range opts.Addrs {
		if err := probe(ctx, addr, opts); err != nil {
			firstErr = fmt.Errorf("%s: %v", addr, err)
			continue
		}
		reachable = append(reachable, addr)
	}
	if len(reachable) == 0 {
		return nil, fmt.Errorf("%w: %s: no seed answers (%v)", claims.ErrUnreachable, desc, firstErr)
	}
	opts.Addrs = reachable
	client := newClusterClient(opts.Cluster())
	pingCtx, cancel := context.WithTimeout(ctx, opts.DialTimeout+time.Second)
	defer cancel()
	topo, err := readTopology(pingCtx, client)
	if err != nil {
		client.Close()
		if Classify(err) == KindAuth {
			return nil, refusal(desc, err)
		}
		return nil, fmt.Errorf("%w: %s: %v", claims.ErrUnreachable, desc, err)
	}
	return &Backend{Client: client, Description: desc + ": " + topo.String(), User: opts.Username}, nil
}

// SlotCount is how many hash slots a Redis Cluster has.
const SlotCount = 16384

// Cluster client settings for failover. go-redis reloads its slot map on
// MOVED, ASK and READONLY, and otherwise only every
// ClusterStateReloadInterval (60 s by default in v9.23). A master killed
// -9 answers nothing, so neither happens: the client kept dialling the
// dead address for up to a minute after its replica had taken over.
const (
	// clusterReloadEvery is the periodic slot-map refresh; the reload that
	// follows a failover is the one slotReloader asks for at the first
	// connection error.
	clusterReloadEvery = 10 * time.Second
	// clusterDialRetries: a refused dial fails the command at once, rather
	// than after go-redis's five redials of an address that is gone. The
	// caller's retry comes after a slot reload; a redial cannot.
	clusterDialRetries = 1
)

// newClusterClient builds the cluster client: the one place one is built,
// so that every command path follows a failover within a reload.
func newClusterClient(opts *redis.ClusterOptions) *redis.ClusterClient {
	opts.ClusterStateReloadInterval = clusterReloadEvery
	opts.DialerRetries = clusterDialRetries
	client := redis.NewClusterClient(opts)
	client.AddHook(slotReloader{client})
	return client
}

// NodeClient is a client of one node of cluster c, by address, with the
// cluster client's credentials, TLS and protocol; close it after use.
func NodeClient(c *redis.ClusterClient, addr string) *redis.Client {
	o := c.Options()
	return redis.NewClient(&redis.Options{Addr: addr, Username: o.Username, Password: o.Password,
		TLSConfig: o.TLSConfig, Protocol: o.Protocol, DialTimeout: o.DialTimeout})
}

// slotReloader is a go-redis hook that asks its cluster client to reload
// the slot map (CLUSTER SLOTS, in the background, coalesced by go-redis)
// whenever a command fails as a dead or demoted node fails: a refused or
// reset connection, a timeout, CLUSTERDOWN, TRYAGAIN. The retry that
// follows then goes to the promoted replica.
type slotReloader struct{ client *redis.ClusterClient }

func (r slotReloader) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r slotReloader) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if Transient(err) {
			r.client.ReloadState(ctx)
		}
		return err
	}
}

func (r slotReloader) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err == nil {
			return nil
		}
		for _, cmd := range cmds {
			if Transient(cmd.Err()) {
				r.client.ReloadState(ctx)
				break
			}
		}
		return err
	}
}

// topology is what CLUSTER SHARDS-era clients call the cluster's layout:
// masters, their replicas, and how many of the 16384 slots are served.
type topology struct {
	masters  []string
	replicas int
	covered  int
}

func (t topology) String() string {
	s := fmt.Sprintf("%s (%s), %s, %d of %d slots served",
		claims.Plural(int64(len(t.masters)), "master", "masters"), strings.Join(t.masters, ", "),
		claims.Plural(int64(t.replicas), "replica", "replicas"), t.covered, SlotCount)
	if t.covered < SlotCount {
		s += " (the cluster is not ready: writes to the other slots fail)"
	}
	return s
}

// Shards is what CLUSTER SHARDS says: each master's address and slot
// ranges, and how many replicas the masters have.
type Shards struct {
	Masters  []string // sorted
	Slots    map[string][][2]int
	Replicas int
}

// ReadShards asks the cluster which master serves which slots.
func ReadShards(ctx context.Context, rdb *redis.ClusterClient) (Shards, error) {
	list, err := rdb.ClusterShards(ctx).Result()
	if err != nil {
		if Classify(err) == KindUnsupported {
			return readSlots(ctx, rdb)
		}
		return Shards{}, err
	}
	sh := Shards{Slots: map[string][][2]int{}}
	for _, shard := range list {
		var master string
		for _, n := range shard.Nodes {
			port := n.Port
			if port == 0 {
				port = n.TLSPort
			}
			host := n.IP
			if host == "" {
				host = n.Endpoint
			}
			switch {
			case n.Role == "master" && len(shard.Slots) > 0:
				master = net.JoinHostPort(host, strconv.FormatInt(port, 10))
			case n.Role == "replica":
				sh.Replicas++
			}
		}
		if master == "" {
			continue
		}
		sh.Masters = append(sh.Masters, master)
		for _, r := range shard.Slots {
			sh.Slots[master] = append(sh.Slots[master], [2]int{int(r.Start), int(r.End)})
		}
	}
	sort.Strings(sh.Masters)
	return sh, nil
}

// readSlots is ReadShards for servers before Redis 7.0, which have no
// CLUSTER SHARDS.
func readSlots(ctx context.Context, rdb *redis.ClusterClient) (Shards, error) {
	//lint:ignore SA1019 CLUSTER SLOTS is what Redis 6 has; 7.0+ takes the SHARDS path.
	list, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		return Shards{}, err
	}
	sh := Shards{Slots: map[string][][2]int{}}
	for _, r := range list {
		if len(r.Nodes) == 0 {
			continue
		}
		master := r.Nodes[0].Addr
		if _, seen := sh.Slots[master]; !seen {
			sh.Masters = append(sh.Masters, master)
			sh.Replicas += len(r.Nodes) - 1
		}
		sh.Slots[master] = append(sh.Slots[master], [2]int{r.Start, r.End})
	}
	sort.Strings(sh.Masters)
	return sh, nil
}

// readTopology asks the cluster (CLUSTER SHARDS) what it serves.
func readTopology(ctx context.Context, rdb *redis.ClusterClient) (topology, error) {
	sh, err := ReadShards(ctx, rdb)
	if err != nil {
		return topology{}, err
	}
	t := topology{masters: sh.Masters, replicas: sh.Replicas}
	for _, ranges := range sh.Slots {
		for _, r := range ranges {
			t.covered += r[1] - r[0] + 1
		}
	}
	return t, nil
}

// clusterEnabled reports whether a node is part of a Redis Cluster (INFO
// cluster: cluster_enabled:1): then one-node commands would be answered
// with MOVED, and the cluster client must be used instead.
func clusterEnabled(ctx context.Context, rdb redis.UniversalClient) bool {
	info, err := rdb.Info(ctx, "cluster").Result()
	return err == nil && strings.Contains(info, "cluster_enabled:1")
}
