package streams

import (
	"context"
	"fmt"
	"testing"
)

// HandleOne runs one delivery through h as a worker's executor would
// (read, vet, decide, write) but neither acknowledges nor dead-letters it:
// tests use it to drive a handler by hand. It returns the log summary and
// the error the delivery failed with (for a dead letter, why).
func (s *Store) HandleOne(ctx context.Context, h Handler, d Delivery) (string, error) {
	x := &executor{s: s, h: h, o: WorkerOptions{}.withDefaults(h.Group()), label: h.Label(), lastErr: map[string]string{},
		wait: func(context.Context, error) bool { return false }}
	outcomes, _, ok := x.handle(ctx, ctx, []Delivery{d})
	if !ok {
		return "", fmt.Errorf("handle %s: redis unavailable", d.ID)
	}
	return outcomes[0].summary, outcomes[0].err
}

// For scripts_cluster_test.go, a test of package streams_test: it drives
// the scripts through the packages above the store too.

// ScriptFiles are the embedded scripts.
var ScriptFiles = scriptFiles

// ScriptNames names each script by its SHA1.
func ScriptNames() map[string]string {
	return map[string]string{appendScript.Hash(): "append.lua", batchScript.Hash(): "batch.lua", ForgetScript.Hash(): "forget_consumer.lua"}
}

// NewClusterStore is a store on the package's cluster (newClusterStore).
func NewClusterStore(t testing.TB, opts Options) *Store { return newClusterStore(t, opts) }
