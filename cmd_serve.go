package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"claimsctl/streams/embedded"
	"claimsctl/streams/localcluster"
)

// minClusterMasters is the fewest masters a cluster that survives the loss
// of one can have: a failover needs a majority of masters to vote.
const minClusterMasters = 3

// serveCmd runs the embedded server in the foreground, like the lab's
// docker Redis, so other terminals find it on localhost:6379; or, with
// --cluster, a local Redis Cluster of real redis-server processes.
type serveCmd struct {
	*base
	port     int
	cluster  int
	replicas int
	aof      bool
	dir      string
}

func (c *serveCmd) doc() doc {
	return doc{name: "serve", args: "[flags]", summary: "run the embedded Redis in the foreground", noConn: true,
		about: "Runs the embedded in-memory Redis until Ctrl-C, so several terminals share it\n" +
			"as the lab's terminals share its docker Redis. With --aof, runs a real\n" +
			"redis-server with the append-only file on instead, started again when its\n" +
			"process dies. With --cluster, runs a local Redis Cluster of real\n" +
			"redis-server processes instead (apt-get install redis-server), prints the\n" +
			"--cluster line that reaches it, and stops every node on Ctrl-C."}
}

func (c *serveCmd) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.port, "port", embedded.DefaultPort, "listen on 127.0.0.1 port `N`")
	fs.IntVar(&c.cluster, "cluster", 0, "run a local Redis Cluster of `N` masters (3 or more)\n"+
		"instead: redis-server processes on free ports (or on\n--port and the ports after it), files in a temp dir")
	fs.IntVar(&c.replicas, "replicas", 0, "with --cluster, give each master `R` replicas")
	fs.BoolVar(&c.aof, "aof", false, "run a real redis-server with the append-only file on\ninstead, and start it again when its process dies")
	fs.StringVar(&c.dir, "dir", "", "with --aof, keep its files in `DIR` (default: a temp dir)")
}

func (c *serveCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(c, args)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	const hint = "claimsctl serve --cluster 3 --replicas 1"
	switch {
	case given["cluster"] && c.cluster < minClusterMasters:
		return &usageError{msg: fmt.Sprintf("--cluster %d: a Redis Cluster needs at least %d masters, so that a majority remains to fail one over",
			c.cluster, minClusterMasters), hint: hint}
	case c.replicas < 0:
		return &usageError{msg: fmt.Sprintf("--replicas %d: the replicas per master cannot be negative", c.replicas), hint: hint}
	case c.aof && given["cluster"]:
		return &usageError{msg: "--aof and --cluster: choose one (a cluster's replicas keep its data)", hint: hint}
	case given["dir"] && !c.aof:
		return &usageError{msg: "--dir needs --aof: the embedded server keeps no files", hint: "claimsctl serve --aof --dir data"}
	case given["replicas"] && !given["cluster"]:
		return &usageError{msg: "--replicas needs --cluster N: the embedded server has no replicas", hint: hint}
	case given["cluster"]:
		basePort := 0
		if given["port"] {
			basePort = c.port
		}
		return c.serveCluster(ctx, basePort)
	case c.aof:
		return c.serveAOF(ctx)
	}
	srv, err := embedded.Start(c.port)
	if err != nil {
		return err
	}
	defer srv.Close()
	found := "other terminals find it on their own (localhost:6379)"
	if srv.Port() != embedded.DefaultPort {
		found = fmt.Sprintf("other terminals reach it with --redis redis://127.0.0.1:%d", srv.Port())
	}
	fmt.Fprintf(c.env.stdout, "embedded Redis (in memory) serving on %s; %s. Ctrl-C stops it.\n", srv.Addr(), found)
	<-ctx.Done()
	fmt.Fprintln(c.env.stdout, "stopped; its data is gone")
	return nil
}

// serveCluster runs a local cluster (on basePort and after, or on free
// ports if 0) in a temporary directory until ctx ends, then stops every
// node and removes the directory.
func (c *serveCmd) serveCluster(ctx context.Context, basePort int) error {
	out := c.env.stdout
	dir, err := os.MkdirTemp("", "claimsctl-cluster-")
	if err != nil {
		return fmt.Errorf("serve --cluster: a directory for the nodes: %w", err)
	}
	defer os.RemoveAll(dir)
	shape := localcluster.Describe(c.cluster, c.replicas)
	fmt.Fprintf(out, "starting a local Redis Cluster (%s) in %s …\n", shape, dir)
	// Start stops what it started if it fails or ctx ends half-way.
	cl, err := localcluster.Start(ctx, localcluster.Options{Masters: c.cluster, Replicas: c.replicas, Dir: dir, BasePort: basePort})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("serve --cluster: interrupted while the cluster formed; its nodes are stopped: %w", ctx.Err())
	}
	if errors.Is(err, localcluster.ErrPortInUse) {
		return fmt.Errorf("serve --cluster: %w\n(choose another --port, or leave it out for free ports)", err)
	}
	if err != nil {
		return fmt.Errorf("serve --cluster: %w", err)
	}
	defer cl.Stop()

	for i := range cl.Len() {
		n := cl.Node(i)
		fmt.Fprintf(out, "  %-8s %-16s pid %-8d", n.Role, n.Addr, n.PID)
		if n.Role == localcluster.RoleReplica {
			fmt.Fprintf(out, "of %s\n", cl.Node(n.Master).Addr)
			continue
		}
		slots := make([]string, len(n.Slots))
		for j, r := range n.Slots {
			slots[j] = r.String()
		}
		fmt.Fprintf(out, "slots %s\n", strings.Join(slots, ","))
	}
	seeds := strings.Join(cl.Seeds(), ",")
	fmt.Fprintf(out, "Redis Cluster ok: %s. In other terminals:\n", shape)
	fmt.Fprintf(out, "  export REDIS_CLUSTER=%s\n", seeds)
	fmt.Fprintf(out, "  claimsctl --partitions 6 run scripts/step05.lua\n")
	fmt.Fprintf(out, "(or --cluster %s on each command). redis-cli -c -p %d watches it.", seeds, cl.Node(0).Port)
	if c.replicas > 0 {
		fmt.Fprint(out, " kill -9 a master's pid (or chaos.failover), and its replica takes over; the dead node is started again and rejoins as a replica.")
	}
	fmt.Fprintln(out, " Ctrl-C stops every node.")
	if c.replicas > 0 {
		cl.Revive(ctx, func(line string) { fmt.Fprintln(out, time.Now().Format(logTime), line) })
	}
	<-ctx.Done()
	cl.Stop()
	fmt.Fprintf(out, "stopped all %d redis-server processes; the cluster's data is gone\n", cl.Len())
	return nil
}
