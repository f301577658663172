package streams

import (
	"strconv"
	"strings"
)

// What a handler asks the executor to read before it decides (Read), and
// what was read (Snapshot): one pipeline per batch, with each claim's
// aggregate for the integrity rule.

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
