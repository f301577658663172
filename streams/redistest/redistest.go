// Package redistest starts real redis-server processes for tests.
//
// Each Server runs on its own free loopback port with its data directory in
// t.TempDir(), and is stopped in t.Cleanup. A missing redis-server binary is a
// test failure, never a skip: the store tests are only meaningful against the
// real server. WithTLS serves rediss:// only, with a certificate signed by a
// throwaway CA made for the server.
//
// StartCluster starts a Redis Cluster of such servers (package
// localcluster) for one test; SharedCluster starts one for a whole test
// package, for tests that only read and write under prefixes of their own.
//
// It is for tests only and may import streams/localcluster.
package redistest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// readyTimeout bounds how long a start or restart may take to answer PING,
	// including loading an AOF.
	readyTimeout = 10 * time.Second
	// pollInterval is how often readiness is checked.
	pollInterval = 20 * time.Millisecond
	// stopTimeout is how long a graceful stop may take before SIGKILL.
	stopTimeout = 10 * time.Second
	// startAttempts bounds retries when another process grabs the chosen port
	// between probing it and redis-server binding it.
	startAttempts = 5
)

// errExited reports that redis-server exited before it answered PING.
var errExited = errors.New("redis-server exited before answering PING")

// Option configures a Server started by Start.
type Option func(*config)

type config struct {
	aof         bool
	tls         bool
	args        []string
	nodeTimeout time.Duration // StartCluster only
}

// WithAOF turns on the append-only file (appendfsync everysec), so data
// survives Stop followed by Restart.
func WithAOF() Option {
	return func(c *config) { c.aof = true }
}

// WithTLS makes the server speak TLS only (rediss://), with a certificate
// for 127.0.0.1 and localhost signed by a throwaway CA of its own (CAFile).
// Clients are not asked for a certificate.
func WithTLS() Option {
	return func(c *config) { c.tls = true }
}

// WithArgs appends raw redis-server arguments, e.g. WithArgs("--maxmemory", "10mb").
// They come last, so they override the defaults.
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// Server is one redis-server process. Its methods are safe for concurrent use.
type Server struct {
	bin     string
	dir     string
	logPath string
	cfg     config

	// caFile is the PEM certificate of the CA that signed the server's
	// certificate, and trusted its pool ("" and nil without TLS).
	caFile  string
	trusted *tls.Config

	mu   sync.Mutex
	port int
	proc *process // nil when not running
}

// process is one run of redis-server; done is closed once it has been reaped.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs redis-server on a free port on 127.0.0.1, waits until it answers
// PING and registers a cleanup that stops it. It fails the test if
// redis-server is not installed or does not come up.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redistest: redis-server not found on PATH (%v); install it with "+
			"`apt-get install -y redis-server` or run `make test`, which installs it", err)
	}
	s := &Server{bin: bin}
	for _, o := range opts {
		o(&s.cfg)
	}
	if s.cfg.nodeTimeout != 0 {
		t.Fatalf("redistest: WithNodeTimeout is for StartCluster; Start runs a single server")
	}
	// TempDir first: cleanups run last-registered-first, so the server is
	// stopped before its directory is removed.
	s.dir = t.TempDir()
	s.logPath = filepath.Join(s.dir, "redis.log")
	t.Cleanup(s.Stop)
	if s.cfg.tls {
		if err := s.writeCertificates(); err != nil {
			t.Fatalf("redistest: make a TLS certificate: %v", err)
		}
	}

	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: pick a free port: %v", err)
		}
		logStart := s.logSize()
		err = s.run(port)
		if err == nil {
			return s
		}
		lostRace := errors.Is(err, errExited) && strings.Contains(s.logSince(logStart), "Address already in use")
		if !lostRace || attempt == startAttempts {
			t.Fatalf("redistest: start redis-server on port %d (attempt %d): %v\n--- redis log ---\n%s", port, attempt, err, s.Log())
		}
	}
}

// Addr returns "127.0.0.1:PORT", for redis.Options.Addr.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port()))
}

// Port returns the TCP port the server listens on. It does not change on Restart.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// URL returns "redis://127.0.0.1:PORT", for redis.ParseURL; with WithTLS,
// "rediss://127.0.0.1:PORT".
func (s *Server) URL() string {
	if s.cfg.tls {
		return "rediss://" + s.Addr()
	}
	return "redis://" + s.Addr()
}

// CAFile returns the path of the PEM certificate of the CA that signed the
// server's certificate, for a client to trust; "" without WithTLS.
func (s *Server) CAFile() string { return s.caFile }

// Kill stops the server abruptly with SIGKILL, as a crash would, and waits
// for it to exit. It does nothing if the server is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop shuts the server down with SIGTERM (Redis flushes the AOF on the way
// out) and waits; if it has not exited after 10 s it is killed. It does
// nothing if the server is not running.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// Restart starts the server again on the same port and data directory, so an
// AOF written before Stop or Kill is loaded again, and waits until it answers
// PING. A server that is still running is stopped gracefully first.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	port := s.Port()
	if err := s.run(port); err != nil {
		t.Fatalf("redistest: restart redis-server on port %d: %v\n--- redis log ---\n%s", port, err, s.Log())
	}
}

// Log returns everything redis-server wrote to its log file and to
// stdout/stderr, across restarts.
func (s *Server) Log() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", s.logPath, err)
	}
	return string(b)
}

// run starts one redis-server process on port and waits until it answers
// PING. On failure the process is gone when run returns.
func (s *Server) run(port int) error {
	// stdout/stderr go to the same file as --logfile, so early failures such
	// as a bad argument (reported before the log file is opened) show up in Log.
	out, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	cmd := exec.Command(s.bin, s.args(port)...)
	cmd.Dir = s.dir
	cmd.Stdout = out
	cmd.Stderr = out
	err = cmd.Start()
	// The child holds its own copy of the descriptor.
	_ = out.Close()
	if err != nil {
		return fmt.Errorf("exec %s: %w", s.bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()

	s.mu.Lock()
	s.port = port
	s.proc = p
	s.mu.Unlock()

	if err := waitReady(p, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), s.trusted); err != nil {
		s.Kill()
		return err
	}
	return nil
}

func (s *Server) args(port int) []string {
	appendonly := "no"
	if s.cfg.aof {
		appendonly = "yes"
	}
	listen := []string{"--port", strconv.Itoa(port)}
	if s.cfg.tls {
		dir := filepath.Dir(s.caFile)
		listen = []string{
			"--port", "0", "--tls-port", strconv.Itoa(port),
			"--tls-cert-file", filepath.Join(dir, "server.crt"),
			"--tls-key-file", filepath.Join(dir, "server.key"),
			"--tls-ca-cert-file", s.caFile,
			"--tls-auth-clients", "no",
		}
	}
	args := append(listen,
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", appendonly,
		"--daemonize", "no",
		"--protected-mode", "yes",
		"--loglevel", "warning",
		"--logfile", s.logPath,
	)
	if s.cfg.aof {
		args = append(args, "--appendfsync", "everysec")
	}
	return append(args, s.cfg.args...)
}

// waitReady polls addr until the redis-server of p answers PING (over TLS
// with tlsConfig, unless nil). A server still loading its AOF answers
// -LOADING, which counts as not ready yet.
func waitReady(p *process, addr string, tlsConfig *tls.Config) error {
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last error
	for {
		if last = ping(addr, p.cmd.Process.Pid, tlsConfig); last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG from %s within %v: %w", addr, readyTimeout, last)
		}
		select {
		case <-p.done:
			return fmt.Errorf("%w (%s)", errExited, p.cmd.ProcessState)
		case <-tick.C:
		}
	}
}

// ping sends PING and INFO server in one round trip, expects +PONG, and
// checks that the answering server is process pid: if redis-server lost the
// port to another test's server, that server would answer PONG too. Plain
// RESP keeps the helper free of a client library.
func ping(addr string, pid int, tlsConfig *tls.Config) error {
	var conn net.Conn
	conn, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return err
	}
	if tlsConfig != nil {
		conn = tls.Client(conn, tlsConfig) // the handshake comes with the first write
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")); err != nil {
		return err
	}
	r := bufio.NewReader(conn)
	line, err := readLine(r)
	if err != nil {
		return err
	}
	if line != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	info, err := readBulk(r)
	if err != nil {
		return fmt.Errorf("INFO server: %w", err)
	}
	want := "process_id:" + strconv.Itoa(pid)
	for _, l := range strings.Split(info, "\r\n") {
		if l == want {
			return nil
		}
	}
	return fmt.Errorf("%s is answered by another process, not pid %d", addr, pid)
}

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(line, "\r\n"), nil
}

// readBulk reads one RESP bulk string reply.
func readBulk(r *bufio.Reader) (string, error) {
	head, err := readLine(r)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(head, "$") {
		return "", fmt.Errorf("unexpected reply %q", head)
	}
	n, err := strconv.Atoi(head[1:])
	if err != nil || n < 0 {
		return "", fmt.Errorf("unexpected reply %q", head)
	}
	buf := make([]byte, n+2) // payload and its CRLF
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// freePort asks the kernel for a free loopback port. Another process may take
// it before redis-server binds it; Start retries when that happens.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) logSize() int64 {
	fi, err := os.Stat(s.logPath)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (s *Server) logSince(off int64) string {
	log := s.Log()
	if off > int64(len(log)) {
		return log
	}
	return log[off:]
}
