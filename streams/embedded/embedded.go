// Package embedded runs an in-process Redis-compatible server (miniredis)
// on a loopback port, so the lab works on a machine without Redis and
// redis-cli or Redis Insight can still watch it.
//
// It may import miniredis and nothing of claimsctl.
package embedded

import (
	"fmt"
	"net"
	"strconv"

	"github.com/alicebob/miniredis/v2"
)

// DefaultPort is Redis's own port, where claimsctl looks for a server
// before it starts an embedded one: serve there and other terminals find it.
const DefaultPort = 6379

// Server is a running embedded server. Its data lives in memory only.
type Server struct {
	mr *miniredis.Miniredis
}

// Start listens on 127.0.0.1:port (0 picks a free port).
func Start(port int) (*Server, error) {
	mr := miniredis.NewMiniRedis()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := mr.StartAddr(addr); err != nil {
		return nil, fmt.Errorf("start embedded server on %s: %w", addr, err)
	}
	return &Server{mr: mr}, nil
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return s.mr.Addr() }

// Port is the TCP port the server listens on.
func (s *Server) Port() int {
	p, _ := strconv.Atoi(s.mr.Port())
	return p
}

// Close stops the server; its data is gone.
func (s *Server) Close() { s.mr.Close() }
