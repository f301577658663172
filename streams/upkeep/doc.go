// Package upkeep is the keeping of a keyspace (lab step 11): what each
// stream holds and costs (StreamDetails), trimming with a plan first and
// an archive (PlanTrim, Trim), importing archives back (Import), folding
// the aggregates again from the events (Rebuild), projecting the
// processor's read model again (RebuildReadModel), deleting a prefix's
// keys (DeleteAll), and what step 1 reports of the server (Server).
//
// It uses streams through its exported API and may import streams,
// streams/scripts, streams/streamview, streams/claims, streams/redisconn
// and go-redis; streams
// imports none of it. A new maintenance command goes here, with its Lua
// function in luaapi/ops.go.
package upkeep
