package streams

import (
	"context"
	"embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"claimsctl/streams/claims"
)

// The server-side scripts, one .lua file each. Each file starts with a
// comment naming its KEYS and ARGV; the call types below (one per script)
// are the only Go code that knows their positions.
//
//go:embed scripts/*.lua
var scriptFiles embed.FS

// Script is one server-side Lua script, run by its SHA1 (EVALSHA).
type Script struct {
	name string
	*redis.Script
}

// newScript reads an embedded script; withLib puts lib.lua (the shared
// append and projection functions) in front of it.
func newScript(file string, withLib bool) *Script {
	src := scriptSource(file)
	if withLib {
		src = scriptSource("lib.lua") + "\n" + src
	}
	return &Script{name: strings.TrimSuffix(file, ".lua"), Script: redis.NewScript(src)}
}

func scriptSource(file string) string {
	src, err := scriptFiles.ReadFile("scripts/" + file)
	if err != nil {
		panic(fmt.Sprintf("streams: embedded script %s: %v", file, err)) // a build mistake
	}
	return string(src)
}

// Name is the script's file name without .lua.
func (sc *Script) Name() string { return sc.name }

var (
	appendScript     = newScript("append.lua", true)
	projectScript    = newScript("project.lua", true)
	decideScript     = newScript("decide.lua", true)
	countScript      = newScript("count.lua", false)
	notifyScript     = newScript("notify.lua", false)
	auditScript      = newScript("audit.lua", false)
	deadLetterScript = newScript("deadletter.lua", false)
	retryScript      = newScript("retry.lua", false)
	rebuildScript    = newScript("rebuild.lua", false)
	allScripts       = []*Script{appendScript, projectScript, decideScript, countScript, notifyScript, auditScript, deadLetterScript, retryScript, rebuildScript}
)

// Effect is one write: a script with its keys and arguments. It is plain
// data, so a handler's decisions can be table-tested without Redis, and
// one executor carries them out.
type Effect struct {
	Script *Script
	Keys   []string
	Args   []any
}

// Reply is what every script answers: a status word ("ok", "skip", "gap",
// "duplicate" …) and a detail (an entry id, a version, a status).
type Reply struct {
	Status, Detail string
}

func parseReply(sc *Script, v any) (Reply, error) {
	parts, ok := v.([]any)
	if !ok || len(parts) != 2 {
		return Reply{}, fmt.Errorf("script %s: unexpected reply %v", sc.name, v)
	}
	status, _ := parts[0].(string)
	detail, _ := parts[1].(string)
	if status == "" {
		return Reply{}, fmt.Errorf("script %s: unexpected reply %v", sc.name, v)
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

// run carries out one effect and reads its reply, retrying while Redis is
// unavailable.
func (s *Store) run(ctx context.Context, e Effect) (Reply, error) {
	var reply Reply
	err := s.retry(ctx, func() error {
		if err := s.scripts.ensure(ctx, s.rdb); err != nil {
			return err
		}
		v, err := e.Script.EvalSha(ctx, s.rdb, e.Keys, e.Args...).Result()
		if classify(err) == errNoScript {
			s.tracer.note(ctx, "the server lost its scripts (restarted?): loading them again")
			s.scripts.forget()
			if err := s.scripts.ensure(ctx, s.rdb); err != nil {
				return err
			}
			v, err = e.Script.EvalSha(ctx, s.rdb, e.Keys, e.Args...).Result()
		}
		if err != nil {
			return err
		}
		reply, err = parseReply(e.Script, v)
		return err
	})
	return reply, err
}

// runAll carries out effects in one pipeline, in order, and returns each
// one's reply or error. A server that lost its scripts gets them again and
// the whole pipeline is sent again: every effect is idempotent.
//
// first, if set, adds plain commands (XACK) in front of the effects; their
// failures are reported as the pipeline's error.
func (s *Store) runAll(ctx context.Context, first func(redis.Pipeliner), effects []Effect) ([]Reply, []error, error) {
	if len(effects) == 0 && first == nil {
		return nil, nil, nil
	}
	replies := make([]Reply, len(effects))
	errs := make([]error, len(effects))
	for attempt := 0; ; attempt++ {
		if err := s.scripts.ensure(ctx, s.rdb); err != nil {
			return nil, nil, err
		}
		pipe := s.rdb.Pipeline()
		if first != nil {
			first(pipe)
		}
		cmds := make([]*redis.Cmd, len(effects))
		for i, e := range effects {
			cmds[i] = e.Script.EvalSha(ctx, pipe, e.Keys, e.Args...)
		}
		_, err := pipe.Exec(ctx)
		lost := false
		for i, c := range cmds {
			v, cerr := c.Result()
			switch {
			case classify(cerr) == errNoScript:
				lost = true
			case cerr != nil:
				errs[i] = cerr
			default:
				replies[i], errs[i] = parseReply(effects[i].Script, v)
			}
		}
		if lost && attempt == 0 {
			s.scripts.forget()
			continue
		}
		if err != nil && (unavailable(err) || len(effects) == 0) {
			return nil, nil, err
		}
		return replies, errs, nil
	}
}

// Script calls: one type per script, the only code that knows the
// positions of its KEYS and ARGV.

// appendCall appends one event through append.lua.
type appendCall struct {
	Stream, Aggregate, EventIDs string
	ClaimID                     string
	Expected                    int64 // the claim's version before this event
	EventID                     string
	Record                      bool  // keep EventID in the event-id index (caller-chosen)
	State                       []any // the aggregate's state after the event
	Fields                      []any // the event's field/value pairs
}

func (c appendCall) effect() Effect {
	record := "0"
	if c.Record {
		record = "1"
	}
	args := []any{c.ClaimID, c.Expected, c.EventID, record, len(c.State)}
	args = append(args, c.State...)
	args = append(args, c.Fields...)
	return Effect{Script: appendScript, Keys: []string{c.Stream, c.Aggregate, c.EventIDs}, Args: args}
}

// projectCall applies one event to the read model through project.lua.
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
	return Effect{Script: projectScript, Keys: []string{c.ReadModel, c.AdjusterLoad}, Args: args}
}

// countCall counts one event into the analytics through count.lua.
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
	return Effect{Script: countScript, Keys: []string{c.Stats, c.StatsClaims}, Args: args}
}

// notifyCall appends a notification once through notify.lua.
type notifyCall struct {
	Notifications, Marker string
	Remember              time.Duration
	Fields                []any
}

func (c notifyCall) effect() Effect {
	args := append([]any{int64(c.Remember / time.Second)}, c.Fields...)
	return Effect{Script: notifyScript, Keys: []string{c.Notifications, c.Marker}, Args: args}
}

// auditCall appends one audit line once through audit.lua.
type auditCall struct {
	Trail   string
	EventID string
	Fields  []any
}

func (c auditCall) effect() Effect {
	return Effect{Script: auditScript, Keys: []string{c.Trail}, Args: append([]any{c.EventID}, c.Fields...)}
}

// deadLetterCall moves a pending entry to the DLQ through deadletter.lua.
type deadLetterCall struct {
	Source, DLQ string
	Group, ID   string
	Fields      []any
}

func (c deadLetterCall) effect() Effect {
	return Effect{Script: deadLetterScript, Keys: []string{c.Source, c.DLQ}, Args: append([]any{c.Group, c.ID}, c.Fields...)}
}

// retryCall puts a dead letter's event back on its stream through
// retry.lua.
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
	return Effect{Script: retryScript, Keys: []string{c.DLQ, c.Source, c.Aggregate}, Args: append(args, c.Fields...)}
}

// decideCall is the processor's decision on a claim.submitted, through
// decide.lua: project the submission, append the decision, project it.
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
	return Effect{Script: decideScript, Keys: []string{c.Stream, c.Aggregate, c.ReadModel, c.AdjusterLoad}, Args: args}
}

// rebuildCall writes one rebuilt aggregate through rebuild.lua.
type rebuildCall struct {
	Aggregate string
	Version   int64
	LastEvent string // the event_id of its last event
	Entries   string
	State     []any
}

func (c rebuildCall) effect() Effect {
	args := append([]any{c.Version, c.LastEvent, c.Entries}, c.State...)
	return Effect{Script: rebuildScript, Keys: []string{c.Aggregate}, Args: args}
}
