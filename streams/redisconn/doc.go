// Package redisconn is the connection to Redis: it reads the URL, the
// lab's environment variables, TLS and cluster options, builds the
// go-redis client (the one place one is built), starts the embedded
// server when nothing else answers, classifies Redis errors (transient or
// not, missing, unsupported …) and carries the trace hook that prints
// each command.
//
// It may import go-redis, streams/claims (for its sentinel errors) and
// streams/embedded; it imports nothing else of claimsctl, so every other
// package can use it.
package redisconn
