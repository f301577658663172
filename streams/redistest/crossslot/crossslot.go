// Package crossslot watches a cluster client for the commands Redis
// Cluster refuses for spanning two hash slots (CROSSSLOT), so that a test
// fails on one even where the code under test handles the error. It is
// for tests only; it may import go-redis and streams/redisconn.
package crossslot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"claimsctl/streams/redisconn"

	"github.com/redis/go-redis/v9"
)

// Watch is a go-redis hook that records every command a cluster
// refused for spanning two slots, in a pipeline or on its own.
type Watch struct {
	mu      sync.Mutex
	refused []string
}

// New adds a watch to rdb.
func New(rdb redis.UniversalClient) *Watch {
	w := &Watch{}
	rdb.AddHook(w)
	return w
}

func (w *Watch) note(cmds ...redis.Cmder) {
	for _, cmd := range cmds {
		if redisconn.Classify(cmd.Err()) == redisconn.KindCrossSlot {
			w.mu.Lock()
			w.refused = append(w.refused, describeCmd(cmd))
			w.mu.Unlock()
		}
	}
}

// Seen is every refused command so far, its name and first arguments.
func (w *Watch) Seen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.refused)
}

// DialHook, ProcessHook and ProcessPipelineHook make a Watch a redis.Hook.
func (w *Watch) DialHook(next redis.DialHook) redis.DialHook { return next }

func (w *Watch) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		w.note(cmd)
		return err
	}
}

func (w *Watch) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		w.note(cmds...)
		return err
	}
}

// describeCmd is a command's name and its first arguments, short enough
// for a failure message.
func describeCmd(cmd redis.Cmder) string {
	args := cmd.Args()
	parts := make([]string, 0, 6)
	for _, a := range args[:min(len(args), 6)] {
		parts = append(parts, fmt.Sprint(a))
	}
	return strings.Join(parts, " ")
}
