package luaapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/workers"

	lua "github.com/yuin/gopher-lua"
)

// ConsumerGrace is how long a Lua consumer told to stop may take to finish
// its batch before a handler that is still running is interrupted.
const ConsumerGrace = 3 * time.Second

// Consumer is a workers.Handler written in Lua. It owns its Runtime: the
// worker goroutine is the only one that touches that LState.
type Consumer struct {
	rt     *Runtime
	group  string
	handle *lua.LFunction
	// abort interrupts a handler that does not return (the worker's own
	// context does not reach it: a batch always finishes).
	abort context.Context
	// mu: a worker runs a loop per partition, and one LState must not be
	// used by two goroutines at once.
	mu sync.Mutex
}

// LoadConsumer runs a consumer file once on rt (its top level sets up) and
// returns its handler: the file must set the global `group` and define
// `handle(event)`. An error in handle leaves the event pending (retried,
// then dead-lettered); a string it returns is the log line.
func LoadConsumer(ctx context.Context, rt *Runtime, file string) (*Consumer, error) {
	if err := rt.DoFile(ctx, file); err != nil {
		return nil, err
	}
	group, ok := rt.L.GetGlobal("group").(lua.LString)
	if !ok || group == "" {
		return nil, fmt.Errorf("%s must set group = \"<consumer group>\"", file)
	}
	fn, ok := rt.L.GetGlobal("handle").(*lua.LFunction)
	if !ok {
		return nil, fmt.Errorf("%s must define function handle(event)", file)
	}
	return &Consumer{rt: rt, group: string(group), handle: fn}, nil
}

// Run runs the consumer as one worker of its group until ctx ends. Then
// the batch in hand is finished; a handler still running ConsumerGrace
// later is interrupted, and its entry stays pending for another delivery.
func (c *Consumer) Run(ctx context.Context, opts workers.Options) error {
	abort, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	c.abort = abort
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done():
		case <-finished:
			return
		}
		grace := time.NewTimer(ConsumerGrace)
		defer grace.Stop()
		select {
		case <-grace.C:
			interrupt()
		case <-finished:
		}
	}()
	return workers.Run(ctx, c.rt.store, c, opts)
}

// Group is the group the file named.
func (c *Consumer) Group() string { return c.group }

// Label names the consumer in the log: its group.
func (c *Consumer) Label() string { return c.group }

// Needs nothing: the Lua handler reads what it wants itself.
func (c *Consumer) Needs([]streams.Delivery) []streams.Read { return nil }

// Decide calls handle(event) for each delivery in order; the handler
// carries out its own effects through the Lua API.
func (c *Consumer) Decide(ctx context.Context, batch []streams.Delivery, _ *streams.Snapshot) []workers.Decision {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]workers.Decision, len(batch))
	for i, d := range batch {
		out[i].Summary, out[i].Err = c.handleOne(ctx, d)
	}
	return out
}

func (c *Consumer) handleOne(ctx context.Context, d streams.Delivery) (string, error) {
	L := c.rt.L
	if c.abort != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(c.abort, cancel)()
	}
	L.SetContext(ctx)
	defer L.RemoveContext()
	top := L.GetTop()
	defer L.SetTop(top)
	if err := L.CallByParam(lua.P{Fn: c.handle, NRet: 1, Protect: true}, deliveryTable(L, d)); err != nil {
		if c.abort != nil && c.abort.Err() != nil {
			return "", fmt.Errorf("interrupted: handle() was still running %s after the worker was told to stop", ConsumerGrace)
		}
		return "", fmt.Errorf("%s", runtimeMessage(err))
	}
	if s, ok := L.Get(-1).(lua.LString); ok && s != "" {
		return string(s), nil
	}
	return "handled", nil
}
