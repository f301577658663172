package redistest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"claimsctl/streams/localcluster"
)

const (
	// clusterStartTimeout bounds forming a cluster; it takes about 2 s.
	clusterStartTimeout = 60 * time.Second
	// clusterLogLines is how much of each node's log a failed test shows.
	clusterLogLines = 40
	// sharedNodeTimeout is a shared cluster's default node timeout: its
	// tests kill no node, so a long one only guards against a node starved
	// of CPU on a busy machine being taken for dead.
	sharedNodeTimeout = 5 * time.Second
)

// Cluster is a local Redis Cluster of real redis-server processes
// (package localcluster) for a test: Seeds for redis.ClusterOptions.Addrs,
// Kill, WaitFailover, Restart, WaitHealthy.
type Cluster struct {
	*localcluster.Cluster
}

// WithNodeTimeout sets a cluster's cluster-node-timeout (default
// localcluster.DefaultNodeTimeout, 1 s): about how long a killed master
// goes unnoticed before its replica takes over.
func WithNodeTimeout(d time.Duration) Option {
	return func(c *config) { c.nodeTimeout = d }
}

// StartCluster starts a cluster of masters masters with replicas replicas
// each, in t.TempDir(), waits until it serves every slot and registers a
// cleanup that stops every node; a failed test shows the end of each
// node's log. WithAOF, WithArgs and WithNodeTimeout apply to every node;
// WithTLS is not supported.
//
// Forming a cluster takes about 2 s (Redis holds a new master back that
// long), so a test that only reads and writes should share one cluster
// per package (SharedCluster) under a key prefix of its own; a test that
// kills, restarts or reconfigures nodes starts its own.
func StartCluster(t testing.TB, masters, replicas int, opts ...Option) *Cluster {
	t.Helper()
	dir := t.TempDir()
	c, err := startCluster(dir, masters, replicas, opts)
	if err != nil {
		t.Fatalf("redistest: %v\n%s", err, dirLogs(dir))
	}
	t.Cleanup(c.Stop)
	t.Cleanup(func() { dumpOnFailure(t, c) })
	return c
}

// SharedCluster is one cluster for a whole test package, started by the
// first test that asks for it, so the package pays for forming it once:
//
//	var cluster = redistest.NewSharedCluster(3, 1)
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		cluster.Stop()
//		os.Exit(code)
//	}
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		c := cluster.Get(t)
//		prefix := t.Name() + ":" // every test its own keys
//		...
//	}
//
// Tests that share it must not kill, restart or flush it; its node timeout
// is 5 s unless WithNodeTimeout says otherwise.
type SharedCluster struct {
	masters, replicas int
	opts              []Option

	once sync.Once
	dir  string
	c    *Cluster
	err  error
}

// NewSharedCluster describes a cluster that Get starts on first use.
func NewSharedCluster(masters, replicas int, opts ...Option) *SharedCluster {
	opts = append([]Option{WithNodeTimeout(sharedNodeTimeout)}, opts...)
	return &SharedCluster{masters: masters, replicas: replicas, opts: opts}
}

// Get returns the package's cluster, starting it on the first call. A
// failed start fails every test that asks for it; a failed test shows the
// end of each node's log.
func (s *SharedCluster) Get(t testing.TB) *Cluster {
	t.Helper()
	s.once.Do(func() {
		if s.dir, s.err = os.MkdirTemp("", "redistest-cluster-"); s.err == nil {
			s.c, s.err = startCluster(s.dir, s.masters, s.replicas, s.opts)
			if s.err != nil {
				s.err = fmt.Errorf("%w\n%s", s.err, dirLogs(s.dir))
			}
		}
	})
	if s.err != nil {
		t.Fatalf("redistest: shared cluster: %v", s.err)
	}
	t.Cleanup(func() { dumpOnFailure(t, s.c) })
	return s.c
}

// Stop stops the cluster, if Get started it, and removes its files. Call
// it from TestMain once m.Run has returned.
func (s *SharedCluster) Stop() {
	if s.c != nil {
		s.c.Stop()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

func startCluster(dir string, masters, replicas int, opts []Option) (*Cluster, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.tls {
		return nil, errors.New("WithTLS is not supported by StartCluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{
		Masters: masters, Replicas: replicas, Dir: dir,
		AOF: cfg.aof, NodeTimeout: cfg.nodeTimeout, Args: cfg.args,
	})
	if errors.Is(err, localcluster.ErrNoRedisServer) {
		return nil, fmt.Errorf("%w, or run `make test`, which installs it", err)
	}
	if err != nil {
		return nil, fmt.Errorf("start a cluster of %s: %w", localcluster.Describe(masters, replicas), err)
	}
	return &Cluster{c}, nil
}

func dumpOnFailure(t testing.TB, c *Cluster) {
	if t.Failed() {
		t.Logf("redistest: the cluster's node logs:\n%s", c.Logs(clusterLogLines))
	}
}

// dirLogs is the end of every node log in dir, for a cluster that did not
// form (and so cannot list its nodes).
func dirLogs(dir string) string {
	paths, _ := filepath.Glob(filepath.Join(dir, "redis-*.log"))
	var b strings.Builder
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
		fmt.Fprintf(&b, "--- %s ---\n%s\n", filepath.Base(p), strings.Join(lines[max(0, len(lines)-clusterLogLines):], "\n"))
	}
	return b.String()
}
