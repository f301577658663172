package scripts

import (
	"strconv"

	"claimsctl/streams/claims"
)

// Script calls: one type per script, the only code that knows the
// positions of its KEYS and ARGV.

// AppendCall appends one event through append.lua, a command's one call.
type AppendCall struct {
	Stream, Aggregate, EventIDs string
	ClaimID                     string
	Expected                    int64 // the claim's version before this event
	EventID                     string
	Record                      bool   // keep EventID in the event-id index (caller-chosen)
	At                          string // the entry's time (streams.Store.EntryAt; "": Redis's clock)
	State                       []any  // the aggregate's state after the event
	Fields                      []any  // the event's field/value pairs
}

// KeysAndArgs are the call's KEYS and ARGV.
func (c AppendCall) KeysAndArgs() ([]string, []any) {
	return []string{c.Stream, c.Aggregate, c.EventIDs}, c.appendArgs(make([]any, 0, 6+len(c.State)+len(c.Fields)))
}

// Command is the call as one EVALSHA of sc, in one slice (go-redis sends
// it as it is).
func (c AppendCall) Command(sc *Script) []any {
	cmd := make([]any, 0, 6+6+len(c.State)+len(c.Fields))
	return c.appendArgs(append(cmd, "evalsha", sc.Hash(), "3", c.Stream, c.Aggregate, c.EventIDs))
}

// Effect is the call as batch.lua's append operation (submit_many).
func (c AppendCall) Effect() Effect {
	keys, args := c.KeysAndArgs()
	return Effect{Op: opAppend, Keys: keys, Args: args}
}

// appendArgs appends the call's ARGV to dst.
func (c AppendCall) appendArgs(dst []any) []any {
	record := "0"
	if c.Record {
		record = "1"
	}
	dst = append(dst, c.ClaimID, c.Expected, c.EventID, record, c.At, len(c.State))
	dst = append(dst, c.State...)
	return append(dst, c.Fields...)
}

// ProjectCall applies one event to the read model through ops/project.lua.
type ProjectCall struct {
	ReadModel, AdjusterLoad string
	Version                 int64
	Allowed                 string // "|submitted|assigned|": the statuses the event may follow
	Op                      string // assign | final | document | ""
	Adjuster                string
	Fields                  []any
}

func (c ProjectCall) Effect() Effect {
	args := append([]any{c.Version, c.Allowed, c.Op, c.Adjuster}, c.Fields...)
	return Effect{Op: opProject, Keys: []string{c.ReadModel, c.AdjusterLoad}, Args: args}
}

// CountCall counts one event into the analytics through ops/count.lua.
type CountCall struct {
	Stats, StatsClaims string
	ClaimID            string
	Version            int64
	AtMillis           int64
	Tally              claims.Tally
}

func (c CountCall) Effect() Effect {
	flag := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	t := c.Tally
	args := []any{c.ClaimID, c.Version, string(t.NewStatus), c.AtMillis, t.Adjuster, flag(t.Decides), flag(t.Pays), flag(t.Closes)}
	for _, ct := range t.Counters {
		if ct.Amount {
			args = append(args, "f", ct.Field, strconv.FormatFloat(ct.By, 'f', -1, 64))
		} else {
			args = append(args, "i", ct.Field, int64(ct.By))
		}
	}
	return Effect{Op: opCount, Keys: []string{c.Stats, c.StatsClaims}, Args: args}
}

// NotifyCall takes one event of a claim through ops/notify.lua, appending
// its notification if it has one (Fields empty: none).
type NotifyCall struct {
	Notifications, Seen string
	ClaimID             string
	Version             int64
	At                  string // the notification's entry time ("": Redis's clock)
	Fields              []any
}

func (c NotifyCall) Effect() Effect {
	args := append([]any{c.ClaimID, c.Version, c.At}, c.Fields...)
	return Effect{Op: opNotify, Keys: []string{c.Notifications, c.Seen}, Args: args}
}

// AuditCall appends one audit line in version order through ops/audit.lua.
type AuditCall struct {
	Trail   string
	Version int64
	Line    string
}

func (c AuditCall) Effect() Effect {
	return Effect{Op: opAudit, Keys: []string{c.Trail}, Args: []any{c.Version, c.Line}}
}

// DeadLetterCall moves a pending entry to the DLQ through ops/deadletter.lua.
type DeadLetterCall struct {
	Source, DLQ string
	Group, ID   string
	Delete      bool // delete the entry too (it is in a retry stream)
	Fields      []any
}

func (c DeadLetterCall) Effect() Effect {
	del := "0"
	if c.Delete {
		del = "1"
	}
	return Effect{Op: opDeadLetter, Keys: []string{c.Source, c.DLQ}, Args: append([]any{c.Group, c.ID, del}, c.Fields...)}
}

// RetryCall hands a dead letter back to its group through ops/retry.lua.
type RetryCall struct {
	DLQ, Retry, Aggregate string
	Version               int64
	Original              string // the event stream's entry of the event
	Letter, Group         string // the dead letter, and the group that wrote it
	Fields                []any  // the event's field/value pairs and retry_of
}

func (c RetryCall) Effect() Effect {
	args := append([]any{c.Version, c.Original, c.Letter, c.Group}, c.Fields...)
	return Effect{Op: opRetry, Keys: []string{c.DLQ, c.Retry, c.Aggregate}, Args: args}
}

// DecideCall is the processor's decision on a claim.submitted, through
// ops/decide.lua: project the submission, append the decision, project it.
type DecideCall struct {
	Stream, Aggregate, ReadModel, AdjusterLoad string
	ClaimID, EventID                           string // of the decision
	Op, Adjuster                               string // assign + adjuster, or final
	Status                                     string // the claim's after the decision
	SubmittedEntry                             string // the submission's entry id
	At                                         string // the decision's entry time ("": Redis's clock)
	State                                      []any  // the aggregate's state after the decision
	Decision                                   []any  // the decision event's field/value pairs
	// Read-model fields of each, without last_entry_id (the script sets
	// it: one HSET of both rows must not take the submission's).
	SubmittedFields, DecisionFields []any
}

func (c DecideCall) Effect() Effect {
	args := []any{c.ClaimID, c.EventID, c.Op, c.Adjuster, c.Status, c.SubmittedEntry, c.At}
	for _, group := range [][]any{c.State, c.Decision, c.SubmittedFields} {
		args = append(args, len(group))
		args = append(args, group...)
	}
	args = append(args, c.DecisionFields...)
	return Effect{Op: opDecide, Keys: []string{c.Stream, c.Aggregate, c.ReadModel, c.AdjusterLoad}, Args: args}
}

// RebuildCall writes one rebuilt aggregate through ops/rebuild.lua.
type RebuildCall struct {
	Aggregate string
	Version   int64
	LastEvent string // the event_id of its last event
	Entries   string
	State     []any
}

func (c RebuildCall) Effect() Effect {
	args := append([]any{c.Version, c.LastEvent, c.Entries}, c.State...)
	return Effect{Op: opRebuild, Keys: []string{c.Aggregate}, Args: args}
}
