// Package streams is the claims event store on Redis Streams and the
// claims domain: the eight event types and their schemas, the claim state
// machine, optimistic concurrency, consumer groups and the four lab
// workers, recovery, dead letters, replay, analytics and maintenance.
//
// The domain is pure Go with table-driven tests (events.go, schema.go,
// claim.go, report.go); the files that talk to Redis are separate. It
// knows nothing of Lua or terminals: luaapi and repl build on it.
package streams
