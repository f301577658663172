package streams

import (
	"claimsctl/streams/redisconn"
	"context"
	"embed"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// The server-side scripts. append.lua is a command's one call; every
// other write is an operation (one .lua file each under ops/, with its
// keys and arguments in a header comment), and batch.lua carries out any
// number of them in one call, in order: a worker's batch is one EVALSHA.
// lib.lua holds what they share. The call types below (one per script or
// operation, in calls.go) are the only Go code that knows argument positions.
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

// ForgetScript is forget_consumer.lua: it deletes a consumer from a group
// only if it has no pending entries.
var ForgetScript = redis.NewScript(scriptSource("forget_consumer.lua"))

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
	ctx = redisconn.Untraced(ctx)
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
