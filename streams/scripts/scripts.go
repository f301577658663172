// Package scripts holds the store's server-side Lua scripts (embedded from
// this folder), the call types that are the only Go code to know their
// KEYS and ARGV positions, the Effect a worker's decision is made of, and
// the packing of effects into batch.lua calls. It may import go-redis,
// streams/claims and streams/redisconn; streams runs what it builds.
//
// append.lua is a command's one call; every other write is an operation
// (one .lua file each under ops/, with its keys and arguments in a header
// comment), and batch.lua carries out any number of them in one call, in
// order: a worker's batch is one EVALSHA. lib.lua holds what they share.
// The call types (one per script or operation, in calls.go) are the only
// Go code that knows argument positions.
package scripts

import (
	"context"
	"embed"
	"fmt"
	"strings"
	"sync"

	"claimsctl/streams/redisconn"

	"github.com/redis/go-redis/v9"
)

// Files are the scripts, as embedded.
//
//go:embed *.lua ops/*.lua
var Files embed.FS

// Script is one server-side Lua script, run by its SHA1 (EVALSHA).
type Script struct {
	name string
	*redis.Script
}

// Name is the script's name (append, batch).
func (sc *Script) Name() string { return sc.name }

func source(file string) string {
	src, err := Files.ReadFile(file)
	if err != nil {
		panic(fmt.Sprintf("scripts: embedded script %s: %v", file, err)) // a build mistake
	}
	return string(src)
}

// Append is append.lua (with lib.lua), Batch is batch.lua with every
// operation; All are the two, loaded together.
var (
	Append = &Script{name: "append", Script: redis.NewScript(source("lib.lua") + source("append.lua"))}
	Batch  = &Script{name: "batch", Script: redis.NewScript(batchSource())}
	All    = []*Script{Append, Batch}
)

// ForgetConsumer is forget_consumer.lua: it deletes a consumer from a
// group only if it has no pending entries.
var ForgetConsumer = redis.NewScript(source("forget_consumer.lua"))

// batchSource is lib.lua, batchlib.lua, every operation, then the
// dispatcher.
func batchSource() string {
	var b strings.Builder
	b.WriteString(source("lib.lua"))
	b.WriteString(source("batchlib.lua"))
	b.WriteString("local ops = {}\n")
	files, err := Files.ReadDir("ops")
	if err != nil {
		panic(fmt.Sprintf("scripts: embedded ops: %v", err))
	}
	for _, f := range files {
		b.WriteString(source("ops/" + f.Name()))
	}
	b.WriteString(source("batch.lua"))
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

// ParseReply reads an operation's reply; what names it in an error.
func ParseReply(what string, v any) (Reply, error) {
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

// Cache makes sure the server holds the scripts before they are run
// by SHA1: loaded once per server, untraced, and again after a restart
// emptied its cache (NOSCRIPT), so a student's trace shows EVALSHA only.
type Cache struct {
	mu     sync.Mutex
	loaded bool
}

// Ensure loads the scripts on the server (every master) unless it holds
// them already.
func (c *Cache) Ensure(ctx context.Context, rdb redis.UniversalClient) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded {
		return nil
	}
	ctx = redisconn.Untraced(ctx)
	for _, sc := range All {
		// A cluster client loads it on every master.
		if err := sc.Load(ctx, rdb).Err(); err != nil {
			return fmt.Errorf("load script %s: %w", sc.name, err)
		}
	}
	c.loaded = true
	return nil
}

// Reset says the server lost the scripts: the next Ensure loads them.
func (c *Cache) Reset() {
	c.mu.Lock()
	c.loaded = false
	c.mu.Unlock()
}
