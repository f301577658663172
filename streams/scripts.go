package streams

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"claimsctl/streams/claims"
)

// The server-side scripts. append.lua is a command's one call; every
// other write is an operation (one .lua file each under ops/, with its
// keys and arguments in a header comment), and batch.lua carries out any
// number of them in one call, in order: a worker's batch is one EVALSHA.
// lib.lua holds what they share. The call types below (one per script or
// operation) are the only Go code that knows argument positions.
//
//go:embed scripts/*.lua scripts/ops/*.lua
var scriptFiles embed.FS

// Script is one server-side Lua script, run by its SHA1 (EVALSHA).
type Script struct {
	name string
	*redis.Script
}

func scriptSource(file string) string {
	src, err := scriptFiles.ReadFile("scripts/" + file)
	if err != nil {
		panic(fmt.Sprintf("streams: embedded script %s: %v", file, err)) // a build mistake
	}
	return string(src)
}

var (
	appendScript = &Script{name: "append", Script: redis.NewScript(scriptSource("lib.lua") + scriptSource("append.lua"))}
	batchScript  = &Script{name: "batch", Script: redis.NewScript(batchSource())}
	allScripts   = []*Script{appendScript, batchScript}
)

// batchSource is lib.lua, batchlib.lua, every operation, then the
// dispatcher.
func batchSource() string {
	var b strings.Builder
	b.WriteString(scriptSource("lib.lua"))
	b.WriteString(scriptSource("batchlib.lua"))
	b.WriteString("local ops = {}\n")
	files, err := scriptFiles.ReadDir("scripts/ops")
	if err != nil {
		panic(fmt.Sprintf("streams: embedded scripts/ops: %v", err))
	}
	for _, f := range files {
		b.WriteString(scriptSource("ops/" + f.Name()))
	}
	b.WriteString(scriptSource("batch.lua"))
	return b.String()
}

// The operations batch.lua knows (scripts/ops/NAME.lua).
const (
	opAppend     = "append"
	opProject    = "project"
	opDecide     = "decide"
	opCount      = "count"
	opNotify     = "notify"
	opAudit      = "audit"
	opDeadLetter = "deadletter"
	opRetry      = "retry"
	opRebuild    = "rebuild"
)

// Effect is one write: an operation with its keys and arguments. It is
// plain data, so a handler's decisions can be table-tested without Redis,
// and one executor carries them out, a batch in one call.
type Effect struct {
	Op   string
	Keys []string
	Args []any
}

// Reply is what every operation answers: a status word ("ok", "skip",
// "gap", "duplicate" …) and a detail (an entry id, a version, a status).
type Reply struct {
	Status, Detail string
}

func parseReply(what string, v any) (Reply, error) {
	parts, ok := v.([]any)
	if !ok || len(parts) != 2 {
		return Reply{}, fmt.Errorf("script %s: unexpected reply %v", what, v)
	}
	status, _ := parts[0].(string)
	detail, _ := parts[1].(string)
	if status == "" {
		return Reply{}, fmt.Errorf("script %s: unexpected reply %v", what, v)
	}
	return Reply{Status: status, Detail: detail}, nil
}

// scriptCache makes sure the server holds the scripts before they are run
// by SHA1: loaded once per server, untraced, and again after a restart
// emptied its cache (NOSCRIPT), so a student's trace shows EVALSHA only.
type scriptCache struct {
	mu     sync.Mutex
	loaded bool
}

func (c *scriptCache) ensure(ctx context.Context, rdb redis.UniversalClient) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded {
		return nil
	}
	ctx = Untraced(ctx)
	for _, sc := range allScripts {
		// A cluster client loads it on every master.
		if err := sc.Load(ctx, rdb).Err(); err != nil {
			return fmt.Errorf("load script %s: %w", sc.name, err)
		}
	}
	c.loaded = true
	return nil
}

func (c *scriptCache) forget() {
	c.mu.Lock()
	c.loaded = false
	c.mu.Unlock()
}

// evalSha runs a script, loading the scripts again once if the server lost
// them (restarted, or SCRIPT FLUSH).
func (s *Store) evalSha(ctx context.Context, sc *Script, keys []string, args ...any) (any, error) {
	if err := s.scripts.ensure(ctx, s.rdb); err != nil {
		return nil, err
	}
	v, err := sc.EvalSha(ctx, s.rdb, keys, args...).Result()
	if classify(err) == errNoScript {
		s.tracer.note(ctx, "the server lost its scripts (restarted?): loading them again")
		s.scripts.forget()
		if err := s.scripts.ensure(ctx, s.rdb); err != nil {
			return nil, err
		}
		v, err = sc.EvalSha(ctx, s.rdb, keys, args...).Result()
	}
	return v, err
}

// durableTimeout bounds how long an append waits for its replicas.
const durableTimeout = 2 * time.Second

// ErrNotDurable is an append that landed on its master but not on the
// replicas Options.Durable asks for in time: a failover now could lose it.
// Retrying with the same event id is safe (it is not written twice).
var ErrNotDurable = errors.New("not copied to the replicas in time")

// evalDurable is evalSha that, with Options.Durable, sends WAIT right after
// the script on the same connection of the same master (WAIT counts the
// writes of its own connection), so an append counts only once a replica
// holds it.
func (s *Store) evalDurable(ctx context.Context, sc *Script, keys []string, args ...any) (any, error) {
	if s.opts.Durable <= 0 {
		return s.evalSha(ctx, sc, keys, args...)
	}
	if err := s.scripts.ensure(ctx, s.rdb); err != nil {
		return nil, err
	}
	cc, clustered := s.rdb.(*redis.ClusterClient)
	reloaded := false
	for {
		var node redis.Cmdable = s.rdb
		if clustered {
			master, err := cc.MasterForKey(ctx, keys[0])
			if err != nil {
				return nil, err
			}
			node = master
		}
		pipe := node.Pipeline()
		cmd := sc.EvalSha(ctx, pipe, keys, args...)
		wait := pipe.Do(ctx, "WAIT", s.opts.Durable, durableTimeout.Milliseconds())
		_, _ = pipe.Exec(ctx)
		v, err := cmd.Result()
		switch code := replyCode(err); {
		case classify(err) == errNoScript && !reloaded:
			// A restarted server, or a replica promoted in a failover:
			// the script cache is not replicated.
			reloaded = true
			s.scripts.forget()
			if err := s.scripts.ensure(ctx, s.rdb); err != nil {
				return nil, err
			}
			continue
		case clustered && (code == "MOVED" || code == "ASK"):
			// This pipeline goes to one node, not through the cluster
			// client, which would follow the redirect itself: the slot
			// moved (a failover). The client learns the new layout in the
			// background; the caller's retry goes there (a redirect is
			// unavailable, to classify).
			cc.ReloadState(ctx)
			return nil, err
		}
		if err != nil {
			return nil, err
		}
		got, err := wait.Int64()
		if err != nil {
			return nil, fmt.Errorf("wait for %d replica(s): %w", s.opts.Durable, err)
		}
		if got < int64(s.opts.Durable) {
			return nil, fmt.Errorf("%d of %d replica(s) acknowledged it within %s: %w", got, s.opts.Durable, durableTimeout, ErrNotDurable)
		}
		return v, nil
	}
}

// run carries out one effect and reads its reply, retrying while Redis is
// unavailable.
func (s *Store) run(ctx context.Context, e Effect) (Reply, error) {
	var reply Reply
	err := s.retry(ctx, func() error {
		replies, errs, err := s.runAll(ctx, nil, []Effect{e})
		if err != nil {
			return err
		}
		reply = replies[0]
		return errs[0]
	})
	return reply, err
}

// maxBatchItems and maxBatchArgs bound one batch.lua call: a script
// blocks the server while it runs.
const (
	maxBatchItems = 200
	maxBatchArgs  = 20000
)

// runAll carries out effects in order: in as few batch.lua calls as their
// number allows, all in one pipeline, and returns each one's reply or
// error. A server that lost its scripts gets them again and the whole
// pipeline is sent again: every effect is idempotent.
//
// first, if set, adds plain commands (XACK) in front of the effects; their
// failures are reported as the pipeline's error.
func (s *Store) runAll(ctx context.Context, first func(redis.Pipeliner), effects []Effect) ([]Reply, []error, error) {
	if len(effects) == 0 && first == nil {
		return nil, nil, nil
	}
	var slotOf func(Effect) int
	if s.cluster() {
		// One script call must stay in one slot: a call per partition.
		slotOf = func(e Effect) int { return Slot(e.Keys[0]) }
	}
	calls := batchCalls(effects, slotOf)
	for attempt := 0; ; attempt++ {
		if err := s.scripts.ensure(ctx, s.rdb); err != nil {
			return nil, nil, err
		}
		pipe := s.rdb.Pipeline()
		if first != nil {
			first(pipe)
		}
		cmds := make([]*redis.Cmd, len(calls))
		for i, c := range calls {
			cmds[i] = batchScript.EvalSha(ctx, pipe, c.keys, c.args...)
		}
		_, err := pipe.Exec(ctx)
		replies := make([]Reply, len(effects))
		errs := make([]error, len(effects))
		lost := false
		for i, c := range calls {
			v, cerr := cmds[i].Result()
			if classify(cerr) == errNoScript {
				lost = true
				continue
			}
			items, _ := v.([]any)
			for j, k := range c.items {
				switch {
				case cerr != nil:
					errs[k] = cerr
				case j >= len(items):
					errs[k] = fmt.Errorf("script batch: %d replies for %d operations", len(items), len(c.items))
				default:
					replies[k], errs[k] = parseReply(effects[k].Op, items[j])
				}
			}
		}
		if lost && attempt == 0 {
			s.tracer.note(ctx, "the server lost its scripts (restarted?): loading them again")
			s.scripts.forget()
			continue
		}
		if err != nil && (unavailable(err) || len(effects) == 0) {
			return nil, nil, err
		}
		return replies, errs, nil
	}
}

// batchCall is one batch.lua call: the effects at items, in order.
type batchCall struct {
	items []int
	keys  []string
	args  []any
}

// batchCalls packs effects into batch.lua calls, keeping their order. With
// slotOf (a cluster) a call holds effects of one slot only; effects of
// different slots touch different claims, so only each slot's order
// matters.
func batchCalls(effects []Effect, slotOf func(Effect) int) []batchCall {
	var calls []batchCall
	open := map[int]int{} // slot -> its call being filled, in calls
	index := map[int]map[string]int{}
	for i, e := range effects {
		slot := 0
		if slotOf != nil {
			slot = slotOf(e)
		}
		at, ok := open[slot]
		if ok {
			c := &calls[at]
			if len(c.items) >= maxBatchItems || len(c.args)+len(e.Args)+len(e.Keys)+3 > maxBatchArgs {
				ok = false
			}
		}
		if !ok {
			calls = append(calls, batchCall{args: []any{0}})
			at = len(calls) - 1
			open[slot] = at
			index[slot] = map[string]int{}
		}
		c := &calls[at]
		c.args = append(c.args, e.Op, len(e.Keys))
		for _, k := range e.Keys {
			pos, ok := index[slot][k]
			if !ok {
				c.keys = append(c.keys, k)
				pos = len(c.keys)
				index[slot][k] = pos
			}
			c.args = append(c.args, pos)
		}
		c.args = append(c.args, len(e.Args))
		c.args = append(c.args, e.Args...)
		c.items = append(c.items, i)
		c.args[0] = len(c.items)
	}
	return calls
}

// Script calls: one type per script, the only code that knows the
// positions of its KEYS and ARGV.

// appendCall appends one event through append.lua, a command's one call.
type appendCall struct {
	Stream, Aggregate, EventIDs string
	ClaimID                     string
	Expected                    int64 // the claim's version before this event
	EventID                     string
	Record                      bool  // keep EventID in the event-id index (caller-chosen)
	State                       []any // the aggregate's state after the event
	Fields                      []any // the event's field/value pairs
}

func (c appendCall) keysAndArgs() ([]string, []any) {
	record := "0"
	if c.Record {
		record = "1"
	}
	args := []any{c.ClaimID, c.Expected, c.EventID, record, len(c.State)}
	args = append(args, c.State...)
	args = append(args, c.Fields...)
	return []string{c.Stream, c.Aggregate, c.EventIDs}, args
}

// projectCall applies one event to the read model through ops/project.lua.
type projectCall struct {
	ReadModel, AdjusterLoad string
	Version                 int64
	Allowed                 string // "|submitted|assigned|": the statuses the event may follow
	Op                      string // assign | final | document | ""
	Adjuster                string
	Fields                  []any
}

func (c projectCall) effect() Effect {
	args := append([]any{c.Version, c.Allowed, c.Op, c.Adjuster}, c.Fields...)
	return Effect{Op: opProject, Keys: []string{c.ReadModel, c.AdjusterLoad}, Args: args}
}

// countCall counts one event into the analytics through ops/count.lua.
type countCall struct {
	Stats, StatsClaims string
	ClaimID            string
	Version            int64
	AtMillis           int64
	Tally              claims.Tally
}

func (c countCall) effect() Effect {
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

// notifyCall takes one event of a claim through ops/notify.lua, appending
// its notification if it has one (Fields empty: none).
type notifyCall struct {
	Notifications, Seen string
	ClaimID             string
	Version             int64
	Fields              []any
}

func (c notifyCall) effect() Effect {
	args := append([]any{c.ClaimID, c.Version}, c.Fields...)
	return Effect{Op: opNotify, Keys: []string{c.Notifications, c.Seen}, Args: args}
}

// auditCall appends one audit line in version order through ops/audit.lua.
type auditCall struct {
	Trail   string
	Version int64
	Line    string
}

func (c auditCall) effect() Effect {
	return Effect{Op: opAudit, Keys: []string{c.Trail}, Args: []any{c.Version, c.Line}}
}

// deadLetterCall moves a pending entry to the DLQ through ops/deadletter.lua.
type deadLetterCall struct {
	Source, DLQ string
	Group, ID   string
	Fields      []any
}

func (c deadLetterCall) effect() Effect {
	return Effect{Op: opDeadLetter, Keys: []string{c.Source, c.DLQ}, Args: append([]any{c.Group, c.ID}, c.Fields...)}
}

// retryCall puts a dead letter's event back on its stream through
// ops/retry.lua.
type retryCall struct {
	DLQ, Source, Aggregate string
	Version                int64
	Original               string   // the entry id the event had
	Letters                []string // dead letter ids of that entry; the first decides
	Fields                 []any
}

func (c retryCall) effect() Effect {
	args := []any{c.Version, c.Original, len(c.Letters)}
	for _, id := range c.Letters {
		args = append(args, id)
	}
	return Effect{Op: opRetry, Keys: []string{c.DLQ, c.Source, c.Aggregate}, Args: append(args, c.Fields...)}
}

// decideCall is the processor's decision on a claim.submitted, through
// ops/decide.lua: project the submission, append the decision, project it.
type decideCall struct {
	Stream, Aggregate, ReadModel, AdjusterLoad string
	ClaimID, EventID                           string // of the decision
	Op, Adjuster                               string // assign + adjuster, or final
	State                                      []any  // the aggregate's state after the decision
	Decision                                   []any  // the decision event's field/value pairs
	SubmittedFields, DecisionFields            []any  // read-model fields of each
}

func (c decideCall) effect() Effect {
	args := []any{c.ClaimID, c.EventID, c.Op, c.Adjuster}
	for _, group := range [][]any{c.State, c.Decision, c.SubmittedFields} {
		args = append(args, len(group))
		args = append(args, group...)
	}
	args = append(args, c.DecisionFields...)
	return Effect{Op: opDecide, Keys: []string{c.Stream, c.Aggregate, c.ReadModel, c.AdjusterLoad}, Args: args}
}

// rebuildCall writes one rebuilt aggregate through ops/rebuild.lua.
type rebuildCall struct {
	Aggregate string
	Version   int64
	LastEvent string // the event_id of its last event
	Entries   string
	State     []any
}

func (c rebuildCall) effect() Effect {
	args := append([]any{c.Version, c.LastEvent, c.Entries}, c.State...)
	return Effect{Op: opRebuild, Keys: []string{c.Aggregate}, Args: args}
}
