// Package streams is the claims event store on Redis Streams: keys,
// connecting, appending through version-checking scripts, consumer groups
// and the four lab workers, the executor of their effects, recovery, dead
// letters, replay, analytics and maintenance. go-redis lives here and
// nowhere else.
//
// The domain it carries out (events, schemas, the state machine, report
// arithmetic) is the pure package streams/claims. streams knows nothing of
// Lua or terminals: luaapi and repl build on it.
package streams
