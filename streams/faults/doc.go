// Package faults is the server side of the lab's chaos module: faults on
// purpose, each a real Redis command sent to every node that serves the
// store (every master of a cluster): CLIENT PAUSE, CLIENT KILL, which
// process is the server and when it is back, and a cluster failover.
// Which process to kill is the caller's business; these say which one is
// the server.
//
// It uses streams through its exported API and may import streams,
// streams/claims, streams/redisconn and go-redis; streams imports none of
// it, luaapi's chaos module builds on it.
package faults
