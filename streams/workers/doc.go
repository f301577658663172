// Package workers holds the built-in workers of the claims event store,
// one handler a file: the processor (the read model, and assigning or
// rejecting each new claim), analytics (counters and snapshots),
// notifications (alerts) and audit (a trail per claim). Each is a
// streams.Handler: it decides a batch into effects, which the store's
// executor writes (streams.Store.RunWorker); New builds one by name.
//
// It uses streams through its exported API and may import streams,
// streams/claims and go-redis; streams imports none of it. A new worker
// is a handler file here, its name in Names and New.
package workers
