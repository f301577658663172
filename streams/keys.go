package streams

// Keys builds every Redis key the tool uses, in one place, so that a
// prefixed (tests, several classes on one server) or partitioned layout
// changes only this file.
type Keys struct {
	Prefix string // prepended to every key; "" gives the lab's names
}

// The consumer groups of the lab on claims:events.
const (
	GroupProcessors    = "processors"
	GroupAnalytics     = "analytics"
	GroupNotifications = "notifications"
	GroupAudit         = "audit"
)

// Events is the source of truth: one entry per claim event.
func (k Keys) Events() string { return k.Prefix + "claims:events" }

// Analytics holds snapshots appended by the analytics worker.
func (k Keys) Analytics() string { return k.Prefix + "claims:analytics" }

// Notifications holds alerts appended by the notifications worker.
func (k Keys) Notifications() string { return k.Prefix + "claims:notifications" }

// DLQ holds entries that failed too often (dead letters).
func (k Keys) DLQ() string { return k.Prefix + "claims:dlq" }

// Streams lists the four streams in the order the state view shows them.
func (k Keys) Streams() []string {
	return []string{k.Events(), k.Analytics(), k.Notifications(), k.DLQ()}
}

// Aggregate is the write side of one claim: its version, folded state and
// entry ids, updated by the append script in the same step as the XADD.
func (k Keys) Aggregate(claimID string) string { return k.Prefix + "claims:aggregate:" + claimID }

// EventIDs is the index of caller-chosen event ids: event_id -> "claim
// entry", so that a retried append is not written twice.
func (k Keys) EventIDs() string { return k.Prefix + "claims:event-ids" }

// ReadModel is the processor's projection of one claim (CQRS read side).
func (k Keys) ReadModel(claimID string) string { return k.Prefix + "claim:" + claimID }

// Customer is a sample customer hash.
func (k Keys) Customer(id string) string { return k.Prefix + "customer:" + id }

// Policy is a sample policy hash.
func (k Keys) Policy(id string) string { return k.Prefix + "policy:" + id }

// Adjusters is the set of adjuster ids (ADJ-001 ...) the processor assigns.
func (k Keys) Adjusters() string { return k.Prefix + "claims:adjusters" }

// AdjusterLoad is a sorted set: adjuster id -> open claims assigned to it.
// The processor keeps it and picks the least-loaded adjuster from it.
func (k Keys) AdjusterLoad() string { return k.Prefix + "claims:adjuster-load" }

// Stats is the analytics worker's counters hash.
func (k Keys) Stats() string { return k.Prefix + "claims:stats" }

// StatsClaims is the analytics worker's per-claim state (version, status,
// submission time, adjuster): what it needs to move counters idempotently.
func (k Keys) StatsClaims() string { return k.Prefix + "claims:stats:claims" }

// NotifySeen is the notifications worker's progress: claim id -> the last
// version of the claim it has taken (one hash, no key per event).
func (k Keys) NotifySeen() string { return k.Prefix + "claims:notifications:seen" }

// Audit is the append-only compliance trail of one claim (a stream).
func (k Keys) Audit(claimID string) string { return k.Prefix + "claims:audit:" + claimID }
