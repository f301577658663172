package workers

import (
	"context"

	"claimsctl/streams"
	"claimsctl/streams/scripts"
)

// Handler is a worker's logic for one consumer group: it decides what a
// batch of deliveries does, and the executor carries that out. The
// executor first reads, in one round trip, what Needs asks for (and each
// claim's aggregate, for the integrity rule); Decide then turns the batch
// into effects from that snapshot alone; the executor writes every effect
// of the batch in one pipeline and acknowledges the batch.
//
// Delivery is at least once, so every effect must be idempotent: applying
// it twice has the effect of once.
type Handler interface {
	// Group is the consumer group the handler reads (processors, analytics …).
	Group() string
	// Label names the worker in the log ("processor" where the group is
	// "processors").
	Label() string
	// Needs lists what deciding the batch needs read.
	Needs(batch []streams.Delivery) []streams.Read
	// Decide returns one Decision per delivery of batch, in order. The
	// built-in handlers do not talk to Redis here; a Lua consumer's
	// handler does what it likes.
	Decide(ctx context.Context, batch []streams.Delivery, got *streams.Snapshot) []Decision
}

// Decision is what a handler decided for one delivery.
type Decision struct {
	// Effects are written, in order, in the batch's pipeline.
	Effects []scripts.Effect
	// Explain reads the effects' replies: the log line, and an error when
	// an effect could not be applied (nil Explain: "handled").
	Explain func(replies []scripts.Reply) (string, error)
	// Summary is the log line of a decision without effects.
	Summary string
	// Err is a refusal decided without writing: retried, or dead-lettered
	// if Permanent.
	Err error
}

// Flusher is implemented by handlers that buffer something (the analytics
// snapshot): Run calls Flush once when it stops.
type Flusher interface {
	Flush(ctx context.Context) error
}

// AfterBatcher is implemented by handlers with a step of their own after
// each batch (the analytics snapshot every N counted events). AfterBatch
// returns a note for the log ("" for none).
type AfterBatcher interface {
	AfterBatch(ctx context.Context, applied int) string
}
