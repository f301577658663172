package redisconn

import (
	"net"

	"github.com/redis/go-redis/v9"
)

// RedisCLI is the redis-cli command line that reaches the server rdb
// talks to ("redis-cli", "redis-cli -p 16399", "redis-cli -c -p 30001"
// for a cluster), for hints a student can paste. It names no password:
// an ACL user's line asks for it (--user alice --askpass).
func RedisCLI(rdb redis.UniversalClient) string {
	var addr, flags, user string
	switch c := rdb.(type) {
	case *redis.Client:
		addr, user = c.Options().Addr, c.Options().Username
	case *redis.ClusterClient:
		flags, user = " -c", c.Options().Username
		if seeds := c.Options().Addrs; len(seeds) > 0 {
			addr = seeds[0]
		}
	}
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if host != "127.0.0.1" && host != "localhost" && host != "::1" && host != "" {
			flags += " -h " + host
		}
		if port != "6379" {
			flags += " -p " + port
		}
	}
	if user != "" && user != "default" {
		flags += " --user " + user + " --askpass"
	}
	return "redis-cli" + flags
}
