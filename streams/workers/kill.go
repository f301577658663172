package workers

import "context"

// killKey holds, in a worker's context, the context that a kill cancels.
type killKey struct{}

// Killable returns the context to run a worker on (Run, KeepAlive)
// and a kill that stops it as kill -9 stops a process: cancelling ctx (or
// its parent) stops the worker after the batch in hand, as Ctrl-C does,
// while kill also cuts that batch short. Nothing more is written, not even
// its XACK, so its entries stay pending in the consumer's PEL for recovery
// (XAUTOCLAIM after MinIdle, or the same consumer's restart) to hand out
// again; its running mark is left to expire and its buffers are not
// flushed. What it wrote before the kill stays written: every effect is
// idempotent, so handling an entry again does no harm.
func Killable(parent context.Context) (ctx context.Context, kill func()) {
	k, kill := context.WithCancel(context.WithoutCancel(parent))
	ctx, cancel := context.WithCancel(parent)
	context.AfterFunc(k, cancel)
	return context.WithValue(ctx, killKey{}, k), kill
}

// survivor is the context a worker finishes its batch on once ctx is
// cancelled: not cancelled with it, only by a kill (see Killable).
func survivor(ctx context.Context) context.Context {
	if k, ok := ctx.Value(killKey{}).(context.Context); ok {
		return k
	}
	return context.WithoutCancel(ctx)
}

// killed reports whether ctx's worker was killed (see Killable).
func killed(ctx context.Context) bool { return survivor(ctx).Err() != nil }
