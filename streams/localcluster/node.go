package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// readyTimeout bounds how long a node may take to answer PING after it
	// starts, including loading an AOF.
	readyTimeout = 10 * time.Second
	// pollInterval is how often readiness and health are checked.
	pollInterval = 20 * time.Millisecond
	// startAttempts bounds retries when another process grabs a chosen port
	// between probing it and redis-server binding it.
	startAttempts = 5
)

// errExited reports that redis-server exited before it answered PING.
var errExited = errors.New("redis-server exited before answering PING")

// node is one member of the cluster: its ports and identity stay the same
// across restarts; proc is nil while it is not running.
type node struct {
	index         int
	port, busPort int
	id            string

	proc *process

	// As last observed (Start, WaitHealthy): the role, the index of its
	// master (-1 for a master) and the slots it serves.
	role   Role
	master int
	slots  []SlotRange
}

func (n *node) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)) }

// process is one run of redis-server; done is closed once it has been
// reaped, and err is then its exit status.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits until the process is reaped.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM (Redis flushes its AOF on the way out) and waits up to
// grace before SIGKILL.
func (p *process) stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.kill()
	}
}

func (c *Cluster) logPath(port int) string {
	return filepath.Join(c.opts.Dir, fmt.Sprintf("redis-%d.log", port))
}

func (c *Cluster) args(n *node) []string {
	port := strconv.Itoa(n.port)
	appendonly := "no"
	if c.opts.AOF {
		appendonly = "yes"
	}
	args := []string{
		"--port", port,
		"--cluster-port", strconv.Itoa(n.busPort),
		"--bind", "127.0.0.1",
		"--protected-mode", "yes",
		"--daemonize", "no",
		"--dir", c.opts.Dir,
		"--cluster-enabled", "yes",
		"--cluster-config-file", "nodes-" + port + ".conf",
		"--cluster-node-timeout", strconv.FormatInt(c.opts.NodeTimeout.Milliseconds(), 10),
		// While a dead master's replica is not yet promoted, the other
		// masters go on serving their own slots, instead of the whole
		// cluster answering CLUSTERDOWN to every command.
		"--cluster-require-full-coverage", "no",
		// A replica's first sync starts at once, not after the default 5 s
		// spent waiting for more replicas to share it.
		"--repl-diskless-sync-delay", "0",
		"--save", "",
		"--dbfilename", "dump-" + port + ".rdb",
		"--appendonly", appendonly,
		"--appenddirname", "appendonly-" + port,
		"--loglevel", "notice",
		"--logfile", c.logPath(n.port),
	}
	return append(args, c.opts.Args...)
}

// run starts redis-server for n on its ports and waits until that process
// answers PING. On failure the process is gone when run returns.
func (c *Cluster) run(ctx context.Context, n *node) (*process, error) {
	logPath := c.logPath(n.port)
	// stdout/stderr go to the log file too, so a failure reported before
	// Redis opens its log (a bad argument) shows up in it.
	out, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	cmd := exec.Command(c.bin, c.args(n)...)
	cmd.Dir = c.opts.Dir
	cmd.Stdout, cmd.Stderr = out, out
	// A process group of its own: Ctrl-C in a terminal reaches the program
	// that started the cluster, which stops the nodes itself, in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	_ = out.Close() // the child holds its own copy
	if err != nil {
		return nil, fmt.Errorf("exec %s: %w", c.bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := waitReady(ctx, p, n.addr()); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

// start runs n for the first time. With free ports, a port lost to another
// process before redis-server bound it is replaced and the start retried.
func (c *Cluster) start(ctx context.Context, n *node) error {
	for attempt := 1; ; attempt++ {
		logStart := fileSize(c.logPath(n.port))
		p, err := c.run(ctx, n)
		if err == nil {
			c.mu.Lock()
			n.proc = p
			c.mu.Unlock()
			c.logf("node %d: 127.0.0.1:%d (bus %d), pid %d", n.index, n.port, n.busPort, p.pid())
			return nil
		}
		inUse := errors.Is(err, errExited) && strings.Contains(readFrom(c.logPath(n.port), logStart), "Address already in use")
		if inUse && c.opts.BasePort != 0 {
			return fmt.Errorf("start node %d: 127.0.0.1:%d or its cluster bus port %d: %w", n.index, n.port, n.busPort, ErrPortInUse)
		}
		if !inUse || attempt == startAttempts {
			return fmt.Errorf("start node %d on 127.0.0.1:%d (bus %d, attempt %d): %w\n--- %s ---\n%s",
				n.index, n.port, n.busPort, attempt, err, c.logPath(n.port), tail(c.logPath(n.port), logTail))
		}
		// The failed attempt's files name ports that are not the node's.
		_ = os.Remove(c.logPath(n.port))
		_ = os.Remove(filepath.Join(c.opts.Dir, fmt.Sprintf("nodes-%d.conf", n.port)))
		ports, err := freePorts(2)
		if err != nil {
			return fmt.Errorf("pick free ports: %w", err)
		}
		c.logf("node %d: port %d or %d was taken meanwhile; retrying on %d", n.index, n.port, n.busPort, ports[0])
		c.mu.Lock()
		n.port, n.busPort = ports[0], ports[1]
		c.mu.Unlock()
	}
}

// waitReady polls addr until the redis-server of p answers PING. A node
// still loading its AOF answers -LOADING, which counts as not ready yet.
func waitReady(ctx context.Context, p *process, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last error
	for {
		if last = ping(ctx, addr, p.pid()); last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%w (%v)", errExited, p.err)
		case <-ctx.Done():
			return fmt.Errorf("no PONG from %s: %w (%w)", addr, last, ctx.Err())
		case <-tick.C:
		}
	}
}

// ping expects +PONG, and checks that the answering server is process pid:
// if redis-server lost the port to another test's server, that server would
// answer PONG too.
func ping(ctx context.Context, addr string, pid int) error {
	replies, err := pipeline(ctx, addr, []string{"PING"}, []string{"INFO", "server"})
	if err != nil {
		return err
	}
	if replies[0] != "PONG" {
		return fmt.Errorf("PING answered %v", replies[0])
	}
	info, err := text(replies[1])
	if err != nil {
		return fmt.Errorf("INFO server: %w", err)
	}
	if got := infoField(info, "process_id"); got != strconv.Itoa(pid) {
		return fmt.Errorf("%s is answered by process %s, not pid %d", addr, got, pid)
	}
	return nil
}

// freePorts asks the kernel for n distinct free loopback ports, holding
// them all open at once so none is handed out twice. Another process may
// take one before redis-server binds it; start retries when that happens.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// logTail is how many lines of a node's log an error quotes.
const logTail = 20

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// readFrom returns the file from offset off on ("" if it cannot be read).
func readFrom(path string, off int64) string {
	b, err := os.ReadFile(path)
	if err != nil || off > int64(len(b)) {
		return ""
	}
	return string(b[off:])
}

// tail returns the last n lines of the file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
