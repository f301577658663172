// Package workers runs the claims event store's consumers: the worker
// loop (Run: one loop per partition, own pending entries first, recovery
// every RecoverEvery, the group's retry stream), the executor that turns
// a batch's decisions into one read, one write and one acknowledgement,
// the one decision of what becomes of a delivery (dispose), recovery of
// idle entries (Recover), the running marks of live workers (KeepAlive,
// Running) and forgetting idle consumers, the dead letters and their
// retry (ToDLQ, DLQ, RetryDLQ), a worker run a batch at a time (Stepper),
// kill -9 of a goroutine worker (Killable), and the four built-in
// handlers, one file each: the processor (the read model, and assigning
// or rejecting each new claim), analytics (counters and snapshots),
// notifications (alerts) and audit (a trail per claim). New builds a
// built-in handler by name.
//
// It uses streams through its exported API (a batch's snapshot, the
// integrity rule, the script executor, consumer groups) and may import
// streams, streams/scripts, streams/streamview, streams/claims,
// streams/redisconn and go-redis; streams imports none of it. A new worker is a handler file here, its
// name in Names and New.
package workers
