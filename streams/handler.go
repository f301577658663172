package streams

import (
	"context"
	"strconv"
	"strings"
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
	Needs(batch []Delivery) []Read
	// Decide returns one Decision per delivery of batch, in order. The
	// built-in handlers do not talk to Redis here; a Lua consumer's
	// handler does what it likes.
	Decide(ctx context.Context, batch []Delivery, got *Snapshot) []Decision
}

// Decision is what a handler decided for one delivery.
type Decision struct {
	// Effects are written, in order, in the batch's pipeline.
	Effects []Effect
	// Explain reads the effects' replies: the log line, and an error when
	// an effect could not be applied (nil Explain: "handled").
	Explain func(replies []Reply) (string, error)
	// Summary is the log line of a decision without effects.
	Summary string
	// Err is a refusal decided without writing: retried, or dead-lettered
	// if Permanent.
	Err error
}

// Flusher is implemented by handlers that buffer something (the analytics
// snapshot): RunWorker calls Flush once when it stops.
type Flusher interface {
	Flush(ctx context.Context) error
}

// AfterBatcher is implemented by handlers with a step of their own after
// each batch (the analytics snapshot every N counted events). AfterBatch
// returns a note for the log ("" for none).
type AfterBatcher interface {
	AfterBatch(ctx context.Context, applied int) string
}

type readKind int

const (
	readHash    readKind = iota // HGETALL
	readMembers                 // SMEMBERS
	readScores                  // ZRANGE 0 -1 WITHSCORES
)

// Read is one key a decision needs.
type Read struct {
	Kind readKind
	Key  string
	// LastKnown: while the node holding Key is unreachable (a master
	// failing over), the executor may use the value it last read instead
	// of waiting, for a key whose exact current value the decision can do
	// without: another partition's adjuster workload, the adjuster list, a
	// policy. The batch's own partition is never read this way.
	LastKnown bool
}

// HashRead reads a hash whole.
func HashRead(key string) Read { return Read{Kind: readHash, Key: key} }

// MembersRead reads a set.
func MembersRead(key string) Read { return Read{Kind: readMembers, Key: key} }

// ScoresRead reads a sorted set with its scores.
func ScoresRead(key string) Read { return Read{Kind: readScores, Key: key} }

// OrLastKnown is r, to be served from the last value read while its node
// is unreachable (Read.LastKnown).
func (r Read) OrLastKnown() Read {
	r.LastKnown = true
	return r
}

// Snapshot is what the executor read for a batch.
type Snapshot struct {
	keys       Keys
	hashes     map[string]map[string]string
	members    map[string][]string
	scores     map[string]map[string]float64
	aggregates map[string]aggregate // claim id -> what the store recorded
	// lastKnown are the Read.LastKnown keys taken from memory, their node
	// being unreachable for the reason why.
	lastKnown []string
	why       string
}

// Hash is a hash that was read (empty when missing).
func (s *Snapshot) Hash(key string) map[string]string { return s.hashes[key] }

// Members is a set that was read.
func (s *Snapshot) Members(key string) []string { return s.members[key] }

// Scores is a sorted set that was read, member -> score.
func (s *Snapshot) Scores(key string) map[string]float64 { return s.scores[key] }

// Version is the version the store recorded for a claim (0: none).
func (s *Snapshot) Version(claimID string) int64 { return s.aggregates[claimID].version }

// aggregate is what the integrity rule needs of a claim's write side.
type aggregate struct {
	exists  bool
	version int64
	entries []string // entry id of each version, in order
}

func parseAggregateFields(fields map[string]string) aggregate {
	if len(fields) == 0 {
		return aggregate{}
	}
	a := aggregate{exists: true}
	a.version, _ = strconv.ParseInt(fields["version"], 10, 64)
	if e := fields["entries"]; e != "" {
		a.entries = strings.Split(e, ",")
	}
	return a
}

// recorded is the entry id the store wrote for version v ("" if none).
func (a aggregate) recorded(v int64) string {
	if v < 1 || v > int64(len(a.entries)) {
		return ""
	}
	return a.entries[v-1]
}
