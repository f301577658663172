// Package streams is the claims event store on Redis Streams: keys,
// appending through version-checking scripts, consumer groups
// and the four lab workers, the executor of their effects, recovery, dead
// letters, replay, analytics and maintenance. It takes a connected go-redis
// client; streams/redisconn builds it and classifies its errors.
//
// The domain it carries out (events, schemas, the state machine, report
// arithmetic) is the pure package streams/claims. streams knows nothing of
// Lua or terminals: luaapi and repl build on it.
package streams
