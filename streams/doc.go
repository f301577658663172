// Package streams is the claims event store on Redis Streams: keys and
// their layout over partitions, appending through version-checking
// scripts, the aggregate, consumer groups, replay and the read model, and
// what the workers of streams/workers build on: a batch's snapshot, the
// integrity rule and the script executor of their effects. It takes a
// connected go-redis client; streams/redisconn builds it and classifies
// its errors.
//
// It may import streams/claims, streams/scripts, streams/streamview,
// streams/redisconn and go-redis, and nothing else of claimsctl: workers, upkeep, bench, luaapi
// and repl build on it.
//
// The domain it carries out (events, schemas, the state machine, report
// arithmetic) is the pure package streams/claims. streams knows nothing of
// Lua or terminals.
package streams
