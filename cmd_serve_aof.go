package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// aofReadyTimeout bounds how long a redis-server may take to answer PING
// after it starts (it replays its AOF first).
const aofReadyTimeout = 30 * time.Second

// serveAOF runs one real redis-server with the append-only file on, in dir
// (a temporary one, removed at the end, if ""), until ctx ends; when its
// process dies (kill -9, chaos.restart_server) it is started again on the
// same port and AOF, so that the events survive the crash.
func (c *serveCmd) serveAOF(ctx context.Context) error {
	out := c.env.stdout
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return errors.New("serve --aof: redis-server not found on PATH; install it with `apt-get install redis-server`")
	}
	dir := c.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "claimsctl-aof-"); err != nil {
			return fmt.Errorf("serve --aof: a directory for its files: %w", err)
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("serve --aof: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port))
	args := []string{"--port", strconv.Itoa(c.port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
		"--logfile", filepath.Join(dir, "redis.log")}
	start := func() (*exec.Cmd, chan error, error) {
		cmd := exec.Command(bin, args...)
		// Its own process group: Ctrl-C reaches claimsctl, which stops it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return nil, nil, fmt.Errorf("serve --aof: exec %s: %w", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if err := waitPong(ctx, addr, exited); err != nil {
			_ = cmd.Process.Kill()
			return nil, nil, fmt.Errorf("serve --aof: redis-server on %s: %w (its log: %s)", addr, err, filepath.Join(dir, "redis.log"))
		}
		return cmd, exited, nil
	}
	cmd, exited, err := start()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "redis-server %s (AOF on, in %s) pid %d. Other terminals reach it with --redis redis://%s\n", addr, dir, cmd.Process.Pid, addr)
	fmt.Fprintln(out, "kill -9 its pid (or chaos.restart_server()) and it is started again, its events replayed from the AOF. Ctrl-C stops it.")
	for {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM) // it writes its AOF out on the way
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
			fmt.Fprintln(out, "stopped")
			return nil
		case err := <-exited:
			fmt.Fprintf(out, "%s redis-server pid %d died (%v); starting it again on %s, replaying its AOF\n", time.Now().Format(logTime), cmd.Process.Pid, err, addr)
			if cmd, exited, err = start(); err != nil {
				return err
			}
			fmt.Fprintf(out, "%s redis-server is back, pid %d\n", time.Now().Format(logTime), cmd.Process.Pid)
		}
	}
}

// waitPong waits until addr answers PING with PONG (not LOADING), the
// process exits, or ctx or aofReadyTimeout ends.
func waitPong(ctx context.Context, addr string, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, aofReadyTimeout)
	defer cancel()
	for {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = conn.SetDeadline(time.Now().Add(time.Second))
			_, _ = conn.Write([]byte("PING\r\n"))
			line, _ := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if line == "+PONG\r\n" {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("it exited (%v)", err)
		case <-ctx.Done():
			return fmt.Errorf("no PONG: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
