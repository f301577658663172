package streams

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"claimsctl/streams/redisconn"
)

// Keys builds every Redis key the tool uses, in one place. Two things
// shape a key: the prefix (tests, several classes on one server) and the
// partitions.
//
// Unpartitioned (the default) the keys are the lab's: claims:events,
// claims:aggregate:<id>, claim:<id> … With partitions, claims are spread
// over N event streams by a hash of the claim id, and every key a script
// touches for one claim carries its partition's hash tag:
// claims:{a}:events, claims:{a}:aggregate:<id>, claim:{a}:<id>, its DLQ,
// adjuster load, stats, notifications … so that each script runs on one
// slot of a Redis Cluster. Customers, policies, the adjusters and the
// analytics snapshots are global.
type Keys struct {
	Prefix string   // prepended to every key; "" gives the lab's names
	tags   []string // partition hash tags; nil: one partition, the lab's names
}

// The consumer groups of the lab on claims:events.
const (
	GroupProcessors    = "processors"
	GroupAnalytics     = "analytics"
	GroupNotifications = "notifications"
	GroupAudit         = "audit"
)

// NewKeys is the layout with these partition tags (nil: unpartitioned).
func NewKeys(prefix string, tags []string) Keys { return Keys{Prefix: prefix, tags: tags} }

// Partitions is how many event streams the claims are spread over.
func (k Keys) Partitions() int { return max(len(k.tags), 1) }

// Partitioned reports whether key names carry partition hash tags.
func (k Keys) Partitioned() bool { return k.tags != nil }

// Tags are the partitions' hash tags, in partition order.
func (k Keys) Tags() []string { return append([]string(nil), k.tags...) }

// PartitionOf is the partition a claim's events live in: a hash of its
// id, so that all of one claim's events stay in one stream, in order.
func (k Keys) PartitionOf(claimID string) int {
	if len(k.tags) <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(claimID))
	return int(h.Sum32() % uint32(len(k.tags)))
}

// Partition is the keys of one partition.
func (k Keys) Partition(p int) PartitionKeys {
	pk := PartitionKeys{p: p, prefix: k.Prefix, space: "claims:", claim: "claim:"}
	if k.tags != nil {
		tag := "{" + k.tags[p] + "}"
		pk.space, pk.claim = "claims:"+tag+":", "claim:"+tag+":"
	}
	return pk
}

// ForClaim is the keys of the partition a claim's events live in.
func (k Keys) ForClaim(claimID string) PartitionKeys { return k.Partition(k.PartitionOf(claimID)) }

// All is every partition's keys, in order.
func (k Keys) All() []PartitionKeys {
	out := make([]PartitionKeys, k.Partitions())
	for p := range out {
		out[p] = k.Partition(p)
	}
	return out
}

// EventStreams are the event streams of every partition.
func (k Keys) EventStreams() []string {
	out := make([]string, k.Partitions())
	for p := range out {
		out[p] = k.Partition(p).Events()
	}
	return out
}

// StreamPartition says which partition a stream of this layout belongs
// to, from its name.
func (k Keys) StreamPartition(stream string) (int, bool) {
	for _, pk := range k.All() {
		if strings.HasPrefix(stream, pk.prefix+pk.space) {
			return pk.p, true
		}
	}
	return 0, false
}

// Streams lists every stream in the order the state view shows them: the
// event streams, the analytics snapshots, the notifications and DLQs.
func (k Keys) Streams() []string {
	out := k.EventStreams()
	out = append(out, k.Analytics())
	for _, pk := range k.All() {
		out = append(out, pk.Notifications())
	}
	for _, pk := range k.All() {
		out = append(out, pk.DLQ())
	}
	return out
}

// Events is the event stream of partition 0: the only one unless
// partitioned (claims:events).
func (k Keys) Events() string { return k.Partition(0).Events() }

// DLQ is partition 0's dead letters (claims:dlq unless partitioned).
func (k Keys) DLQ() string { return k.Partition(0).DLQ() }

// Notifications is partition 0's alerts (claims:notifications unless
// partitioned).
func (k Keys) Notifications() string { return k.Partition(0).Notifications() }

// Aggregate is the write side of one claim.
func (k Keys) Aggregate(claimID string) string { return k.ForClaim(claimID).Aggregate(claimID) }

// ReadModel is the processor's projection of one claim.
func (k Keys) ReadModel(claimID string) string { return k.ForClaim(claimID).ReadModel(claimID) }

// Audit is one claim's compliance trail.
func (k Keys) Audit(claimID string) string { return k.ForClaim(claimID).Audit(claimID) }

// Analytics holds snapshots appended by the analytics worker (global).
func (k Keys) Analytics() string { return k.Prefix + "claims:analytics" }

// Customer is a sample customer hash.
func (k Keys) Customer(id string) string { return k.Prefix + "customer:" + id }

// Policy is a sample policy hash.
func (k Keys) Policy(id string) string { return k.Prefix + "policy:" + id }

// Adjusters is the set of adjuster ids (ADJ-001 ...) the processor assigns.
func (k Keys) Adjusters() string { return k.Prefix + "claims:adjusters" }

// Payments maps each payment id to its claim (claims:payments): one hash
// for the whole keyspace, so a payment id is unique across partitions.
func (k Keys) Payments() string { return k.Prefix + "claims:payments" }

// Meta says how the keyspace is laid out: the partition count and tags,
// written with the first event, so that every process agrees.
func (k Keys) Meta() string { return k.Prefix + "claims:meta" }

// Alive is the hash of a group's running workers: consumer -> until
// when (Unix ms) it counts as running.
func (k Keys) Alive(group string) string { return k.Named("claims:alive:" + group) }

// Pids is the hash of the pids of a group's workers that run as
// processes of their own: consumer -> pid.
func (k Keys) Pids(group string) string { return k.Named("claims:pids:" + group) }

// Named is any key under the prefix, e.g. Named("claims:restored").
func (k Keys) Named(name string) string { return k.Prefix + name }

// PartitionKeys are the keys of one partition: its stream and everything
// a script touches along with it, under one hash tag.
type PartitionKeys struct {
	p            int
	prefix       string
	space, claim string // "claims:" and "claim:", with the tag when partitioned
}

// Index is the partition's number.
func (pk PartitionKeys) Index() int { return pk.p }

// Events is the partition's stream: one entry per claim event.
func (pk PartitionKeys) Events() string { return pk.prefix + pk.space + "events" }

// DLQ holds entries of the partition that failed too often (dead letters).
func (pk PartitionKeys) DLQ() string { return pk.prefix + pk.space + "dlq" }

// Retry is a group's retry stream in the partition: the events retry_dlq
// hands back to that group alone (claims:retry:<group>), which its workers
// read besides the event stream. The event stream keeps each event once.
func (pk PartitionKeys) Retry(group string) string { return pk.prefix + pk.space + retryInfix + group }

// retryInfix starts a retry stream's name after the partition's space.
const retryInfix = "retry:"

// RetryGroup is the group whose retry stream this is, if it is one of
// this layout's.
func (k Keys) RetryGroup(stream string) (string, bool) {
	p, ok := k.StreamPartition(stream)
	if !ok {
		return "", false
	}
	pk := k.Partition(p)
	group, ok := strings.CutPrefix(stream, pk.prefix+pk.space+retryInfix)
	return group, ok && group != ""
}

// Notifications holds alerts appended by the notifications worker.
func (pk PartitionKeys) Notifications() string { return pk.prefix + pk.space + "notifications" }

// NotifySeen is the notifications worker's progress: claim id -> the last
// version of the claim it has taken (one hash, no key per event).
func (pk PartitionKeys) NotifySeen() string { return pk.prefix + pk.space + "notifications:seen" }

// Aggregate is the write side of one claim: its version, state and entry
// ids, updated by the append script in the same step as the XADD.
func (pk PartitionKeys) Aggregate(claimID string) string {
	return pk.prefix + pk.space + "aggregate:" + claimID
}

// EventIDs is the index of caller-chosen event ids: event_id -> "claim
// entry", so that a retried append is not written twice.
func (pk PartitionKeys) EventIDs() string { return pk.prefix + pk.space + "event-ids" }

// ReadModel is the processor's projection of one claim (CQRS read side).
func (pk PartitionKeys) ReadModel(claimID string) string { return pk.prefix + pk.claim + claimID }

// AdjusterLoad is a sorted set: adjuster id -> open claims of this
// partition assigned to it; the processor sums the partitions' to choose.
func (pk PartitionKeys) AdjusterLoad() string { return pk.prefix + pk.space + "adjuster-load" }

// Stats is the analytics worker's counters of this partition.
func (pk PartitionKeys) Stats() string { return pk.prefix + pk.space + "stats" }

// StatsClaims is the analytics worker's per-claim state (version, status,
// submission time, adjuster): what it needs to move counters idempotently.
func (pk PartitionKeys) StatsClaims() string { return pk.prefix + pk.space + "stats:claims" }

// Audit is the append-only compliance trail of one claim.
func (pk PartitionKeys) Audit(claimID string) string {
	return pk.prefix + pk.space + "audit:" + claimID
}

// partitionNames are the keys every partition has one of, by their
// unpartitioned names; claimNames the keys of one claim, by prefix.
var (
	partitionNames = map[string]func(PartitionKeys) string{
		"claims:events": PartitionKeys.Events, "claims:dlq": PartitionKeys.DLQ,
		"claims:notifications": PartitionKeys.Notifications, "claims:notifications:seen": PartitionKeys.NotifySeen,
		"claims:event-ids": PartitionKeys.EventIDs, "claims:adjuster-load": PartitionKeys.AdjusterLoad,
		"claims:stats": PartitionKeys.Stats, "claims:stats:claims": PartitionKeys.StatsClaims,
	}
	claimNames = []struct {
		prefix string
		key    func(PartitionKeys, string) string
	}{
		{"claims:aggregate:", PartitionKeys.Aggregate},
		{"claims:audit:", PartitionKeys.Audit},
		{"claim:", PartitionKeys.ReadModel},
	}
)

// ErrWhichPartition is a partition's key asked for by its lab name when
// there are several partitions.
var ErrWhichPartition = errors.New("say which partition")

// Lab is the key that a lab name (claims:events, claim:<id>,
// claims:aggregate:<id> …) means in this layout. A claim's keys go to its
// partition by themselves; a key every partition has (claims:events,
// claims:dlq …) is partition's, and with several partitions one must be
// named (partition < 0: none named). Any other name is global: the prefix
// and the name.
func (k Keys) Lab(name string, partition int) (string, error) {
	if partition >= k.Partitions() {
		return "", fmt.Errorf("partition %d: this keyspace has partitions 0 to %d", partition, k.Partitions()-1)
	}
	if key, ok := partitionNames[name]; ok {
		switch {
		case partition >= 0:
			return key(k.Partition(partition)), nil
		case k.Partitions() == 1:
			return key(k.Partition(0)), nil
		}
		return "", fmt.Errorf("%s is split over %d partitions (%s … %s): %w, 0 to %d, or give a claim id for that claim's",
			name, k.Partitions(), key(k.Partition(0)), key(k.Partition(k.Partitions()-1)), ErrWhichPartition, k.Partitions()-1)
	}
	if group, ok := strings.CutPrefix(name, "claims:"+retryInfix); ok && group != "" {
		switch {
		case partition >= 0:
			return k.Partition(partition).Retry(group), nil
		case k.Partitions() == 1:
			return k.Partition(0).Retry(group), nil
		}
		return "", fmt.Errorf("%s is split over %d partitions (%s … %s): %w, 0 to %d",
			name, k.Partitions(), k.Partition(0).Retry(group), k.Partition(k.Partitions()-1).Retry(group), ErrWhichPartition, k.Partitions()-1)
	}
	for _, c := range claimNames {
		if id, ok := strings.CutPrefix(name, c.prefix); ok && id != "" {
			return c.key(k.ForClaim(id), id), nil
		}
	}
	return k.Named(name), nil
}

// aggregatePattern is a SCAN pattern for the aggregates of the claims
// whose id starts with idPrefix: in every partition, since a prefix does
// not hash to its claim's.
func (k Keys) aggregatePattern(idPrefix string) string {
	key := strings.TrimPrefix(k.Partition(0).Aggregate(idPrefix), k.Prefix)
	if k.Partitioned() {
		before, after, _ := strings.Cut(key, "{"+k.tags[0]+"}")
		return redisconn.GlobEscape(k.Prefix+before) + "{*}" + redisconn.GlobEscape(after) + "*"
	}
	return redisconn.GlobEscape(k.Prefix+key) + "*"
}

// IsRetry reports whether a stream is a group's retry stream.
func (k Keys) IsRetry(stream string) bool {
	_, ok := k.RetryGroup(stream)
	return ok
}

// DLQOf is the dead-letter stream of the partition a source stream is in.
func (k Keys) DLQOf(source string) string {
	p, _ := k.StreamPartition(source)
	return k.Partition(p).DLQ()
}
