// Package bench is the workload of `claimsctl bench`: the store's paths
// driven from Go (Run: submit loop, submit_many, each worker draining,
// report, rebuild), the same through the Lua API as a student's script
// calls it (Lua), and what each server script costs Redis (Server), every
// figure beside a bare loop of the Redis commands underneath.
//
// It sits above luaapi, streams/workers, streams/upkeep and streams (it
// drives the first and the last) and none of them imports it; only
// package main does.
package bench
