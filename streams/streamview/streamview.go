// Package streamview reads the state view: each stream's length and ids,
// each consumer group's pending, lag, retries and consumers, in one
// pipelined round trip in the steady state. It is what the REPL shows
// after every command, info() and groups() return and wait_idle waits on.
// It may import streams/claims and streams/redisconn; streams builds a
// Reader for its keyspace (Store.State).
package streamview

import (
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// lagCountLimit bounds the XRANGE used to count a group's lag when the
// server does not report it; past this the view says "10000+".
const lagCountLimit = 10000

// State is a snapshot of the four streams and their consumer groups.
type State struct {
	Streams []StreamState
	// EventStreams are the keys of the event streams among Streams: one,
	// or one per partition.
	EventStreams []string
}

// Events is the event streams as one: their lengths summed, each group's
// pending and lag summed over the partitions and its consumers merged,
// the first and last ids over all of them. With one partition it is that
// stream; nil when none exists.
func (st *State) Events() *StreamState { return st.Combined(st.EventStreams) }

// Combined is several streams of the snapshot as one (one kind of stream
// over the partitions), as Events combines the event streams.
func (st *State) Combined(keys []string) *StreamState {
	if len(keys) == 1 {
		return st.Stream(keys[0])
	}
	var out *StreamState
	for _, key := range keys {
		ss := st.Stream(key)
		if ss == nil || !ss.Exists {
			continue
		}
		if out == nil {
			out = &StreamState{Key: strings.Join(keys, " "), Exists: true}
		}
		out.Length += ss.Length
		if out.FirstID == "" || (ss.FirstID != "" && claims.CompareIDs(ss.FirstID, out.FirstID) < 0) {
			out.FirstID = ss.FirstID
		}
		if claims.CompareIDs(ss.LastID, out.LastID) > 0 {
			out.LastID = ss.LastID
		}
		for _, g := range ss.Groups {
			tg := out.Group(g.Name)
			if tg == nil {
				out.Groups = append(out.Groups, GroupState{Name: g.Name})
				tg = &out.Groups[len(out.Groups)-1]
			}
			tg.Pending += g.Pending
			tg.Retries += g.Retries
			tg.Lag += g.Lag
			tg.LagCounted = tg.LagCounted || g.LagCounted
			tg.LagCapped = tg.LagCapped || g.LagCapped
			if claims.CompareIDs(g.LastDeliveredID, tg.LastDeliveredID) > 0 {
				tg.LastDeliveredID = g.LastDeliveredID
			}
			for _, c := range g.Consumers {
				merged := false
				for i := range tg.Consumers {
					if tg.Consumers[i].Name == c.Name {
						tg.Consumers[i].Pending += c.Pending
						tg.Consumers[i].Idle = min(tg.Consumers[i].Idle, c.Idle)
						merged = true
					}
				}
				if !merged {
					tg.Consumers = append(tg.Consumers, c)
				}
			}
		}
	}
	if out != nil {
		sort.Slice(out.Groups, func(a, b int) bool { return out.Groups[a].Name < out.Groups[b].Name })
	}
	return out
}

// StreamState is one stream in the state view.
type StreamState struct {
	Key string
	// Node is the address of the cluster master that serves the stream
	// ("" on a single server).
	Node    string
	Exists  bool
	Length  int64
	FirstID string
	LastID  string
	Groups  []GroupState
}

// GroupState is one consumer group in the state view.
type GroupState struct {
	Name            string
	Pending         int64
	Lag             int64
	LagCounted      bool // claimsctl's own figure: the server gave none, or a wrong one
	LagCapped       bool // the count stopped at its limit: lag is at least Lag
	LastDeliveredID string
	Consumers       []ConsumerState
	// Retries are the entries retry_dlq handed back to the group that it
	// has yet to handle: its retry streams' length (event streams only).
	Retries int64
}

// ConsumerState is one consumer of a group.
type ConsumerState struct {
	Name    string
	Pending int64
	Idle    time.Duration
}

// Stream finds a stream of the snapshot by key.
func (st *State) Stream(key string) *StreamState {
	for i := range st.Streams {
		if st.Streams[i].Key == key {
			return &st.Streams[i]
		}
	}
	return nil
}

// Group finds a group of a stream by name.
func (ss *StreamState) Group(name string) *GroupState {
	for i := range ss.Groups {
		if ss.Groups[i].Name == name {
			return &ss.Groups[i]
		}
	}
	return nil
}

// Layout is what the view needs of a keyspace.
type Layout struct {
	Streams      []string // every stream, in the order the view shows them
	EventStreams []string // the event streams among them
	// RetryOf is a group's retry stream beside an event stream ("" for
	// the other streams).
	RetryOf func(stream, group string) string
}

// Reader reads the state view of one keyspace. It remembers which groups
// exist, so that the next Read asks for their consumers in the same
// pipeline as everything else.
type Reader struct {
	rdb    redis.UniversalClient
	layout Layout
	// countLag counts each group's lag from the stream instead of
	// trusting the server's figure (the embedded server's is wrong).
	countLag bool

	mu     sync.Mutex
	groups map[string][]string // stream -> group names
}

// NewReader is a Reader of layout's streams on rdb.
func NewReader(rdb redis.UniversalClient, layout Layout, countLag bool) *Reader {
	return &Reader{rdb: rdb, layout: layout, countLag: countLag, groups: map[string][]string{}}
}

// Read reads the state view: each stream's length, first and last id,
// each group's pending, lag and consumers. In the steady state this is one
// pipelined round trip (XINFO STREAM, XRANGE - + COUNT 1, XINFO GROUPS,
// XINFO CONSUMERS). A second trip is made only for groups seen for the
// first time, and to count lag where the server reports none (null after
// a restart or XDEL; always on the embedded server, whose figure is wrong).
func (r *Reader) Read(ctx context.Context) (*State, error) {
	r.mu.Lock()
	known := make(map[string][]string, len(r.groups))
	for k, v := range r.groups {
		known[k] = v
	}
	r.mu.Unlock()

	type streamCmds struct {
		info   *redis.XInfoStreamCmd
		first  *redis.XMessageSliceCmd
		groups *redis.XInfoGroupsCmd
		cons   map[string]*redis.XInfoConsumersCmd
		// retries: XLEN of each group's retry stream, on event streams
		retries map[string]*redis.IntCmd
	}
	retryOf := r.layout.RetryOf
	keys := r.layout.Streams
	cmds := make([]streamCmds, len(keys))
	pipe := r.rdb.Pipeline()
	for i, key := range keys {
		cmds[i].info = pipe.XInfoStream(ctx, key)
		cmds[i].first = pipe.XRangeN(ctx, key, "-", "+", 1)
		cmds[i].groups = pipe.XInfoGroups(ctx, key)
		cmds[i].cons = map[string]*redis.XInfoConsumersCmd{}
		cmds[i].retries = map[string]*redis.IntCmd{}
		for _, g := range known[key] {
			cmds[i].cons[g] = pipe.XInfoConsumers(ctx, key, g)
			if retry := retryOf(key, g); retry != "" {
				cmds[i].retries[g] = pipe.XLen(ctx, retry)
			}
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !redisconn.Missing(err) {
		return nil, fmt.Errorf("state view: %w", err)
	}

	st := &State{EventStreams: r.layout.EventStreams}
	second := r.rdb.Pipeline()
	type lagCount struct {
		stream, group int
		server, limit int64 // the server's figure, and where counting stops
		cmd           *redis.XMessageSliceCmd
	}
	var lagCounts []lagCount
	newCons := map[[2]int]*redis.XInfoConsumersCmd{}
	newRetries := map[[2]int]*redis.IntCmd{}
	for i, key := range keys {
		ss := StreamState{Key: key, Node: r.nodeOf(ctx, key)}
		info, err := cmds[i].info.Result()
		if err != nil {
			if !redisconn.Missing(err) {
				return nil, fmt.Errorf("state of %s: %w", key, err)
			}
			st.Streams = append(st.Streams, ss)
			continue
		}
		ss.Exists, ss.Length, ss.LastID = true, info.Length, info.LastGeneratedID
		if first, _ := cmds[i].first.Result(); len(first) > 0 {
			ss.FirstID = first[0].ID
		}
		if ss.Length > 0 {
			if last := info.LastEntry.ID; last != "" {
				ss.LastID = last
			}
		}
		groups, err := cmds[i].groups.Result()
		if err != nil && !redisconn.Missing(err) {
			return nil, fmt.Errorf("groups of %s: %w", key, err)
		}
		sort.Slice(groups, func(a, b int) bool { return groups[a].Name < groups[b].Name })
		names := make([]string, 0, len(groups))
		for gi, g := range groups {
			names = append(names, g.Name)
			gs := GroupState{Name: g.Name, Pending: g.Pending, Lag: g.Lag, LastDeliveredID: g.LastDeliveredID}
			switch lag, exact := knownLag(ss, g.LastDeliveredID, g.Lag); {
			case exact:
				gs.LagCounted = r.countLag || lag != g.Lag
				gs.Lag = lag
			default:
				// Count the entries after the group's position, up to this
				// snapshot's last entry (not "+": entries appended since the
				// first round trip would make lag exceed length). Where the
				// server gave a plausible figure, the count checks it.
				limit := int64(lagCountLimit)
				if g.Lag > 0 && !r.countLag {
					limit = min(g.Lag, lagCountLimit)
				}
				lagCounts = append(lagCounts, lagCount{stream: i, group: gi, server: g.Lag, limit: limit,
					cmd: second.XRangeN(ctx, key, "("+g.LastDeliveredID, ss.LastID, limit+1)})
			}
			if c, ok := cmds[i].cons[g.Name]; ok {
				cons, err := c.Result()
				if err != nil {
					return nil, fmt.Errorf("consumers of %s/%s: %w", key, g.Name, err)
				}
				gs.Consumers = ConsumerStates(cons)
			} else {
				newCons[[2]int{i, gi}] = second.XInfoConsumers(ctx, key, g.Name)
			}
			if c, ok := cmds[i].retries[g.Name]; ok {
				gs.Retries = c.Val() // a missing stream is 0
			} else if retry := retryOf(key, g.Name); retry != "" {
				newRetries[[2]int{i, gi}] = second.XLen(ctx, retry)
			}
			ss.Groups = append(ss.Groups, gs)
		}
		r.mu.Lock()
		r.groups[key] = names
		r.mu.Unlock()
		st.Streams = append(st.Streams, ss)
	}
	if len(lagCounts) == 0 && len(newCons) == 0 && len(newRetries) == 0 {
		return st, nil
	}
	if _, err := second.Exec(ctx); err != nil && !redisconn.Missing(err) {
		return nil, fmt.Errorf("state view: %w", err)
	}
	streamIndex := func(i int) *StreamState { return st.Stream(keys[i]) }
	for _, lc := range lagCounts {
		msgs, err := lc.cmd.Result()
		if err != nil {
			return nil, fmt.Errorf("count lag on %s: %w", keys[lc.stream], err)
		}
		g := &streamIndex(lc.stream).Groups[lc.group]
		counted := int64(len(msgs))
		switch {
		case counted <= lc.limit:
			g.Lag = counted
		case lc.server > 0 && !r.countLag:
			g.Lag = lc.server // more than were counted: the server's figure stands
		default:
			g.Lag, g.LagCapped = lc.limit, true
		}
		g.LagCounted = r.countLag || g.Lag != lc.server
	}
	for at, cmd := range newCons {
		cons, err := cmd.Result()
		if err != nil && !redisconn.Missing(err) {
			return nil, fmt.Errorf("consumers of a group on %s: %w", keys[at[0]], err)
		}
		streamIndex(at[0]).Groups[at[1]].Consumers = ConsumerStates(cons)
	}
	for at, cmd := range newRetries {
		streamIndex(at[0]).Groups[at[1]].Retries = cmd.Val()
	}
	return st, nil
}

// knownLag is a group's lag where it follows from the ids alone (exact
// true): 0 when it has been handed the stream's last entry (whatever
// entries-read says: Redis 7.0 keeps a stale one after an AOF rewrite and
// restart), the whole length when its position is older than the first
// entry (trimmed past). Otherwise it must be counted.
func knownLag(ss StreamState, lastDelivered string, server int64) (int64, bool) {
	switch {
	case ss.Length == 0 || ss.LastID == "" || claims.CompareIDs(lastDelivered, ss.LastID) >= 0:
		return 0, true
	case ss.FirstID != "" && claims.CompareIDs(lastDelivered, ss.FirstID) < 0:
		return ss.Length, true
	}
	return server, false
}

func ConsumerStates(cons []redis.XInfoConsumer) []ConsumerState {
	out := make([]ConsumerState, 0, len(cons))
	for _, c := range cons {
		out = append(out, ConsumerState{Name: c.Name, Pending: c.Pending, Idle: c.Idle})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// nodeOf is the address of the master serving a key ("" on one node).
func (r *Reader) nodeOf(ctx context.Context, key string) string {
	c, ok := r.rdb.(*redis.ClusterClient)
	if !ok {
		return ""
	}
	n, err := c.MasterForKey(ctx, key)
	if err != nil {
		return ""
	}
	return n.Options().Addr
}

// LongIdle is when a consumer counts as idle for long: ten times the
// workers' default min-idle (30 s), long after recovery would have taken
// its entries. Redis 7.0 counts idle from a consumer's last read that got
// entries (or take-over), so a worker on a quiet stream grows idle too:
// idle says nobody has been handed anything, not that nobody runs.
const LongIdle = 5 * time.Minute

// LongIdle reports whether the consumer has been idle for LongIdle or
// more. The embedded server does not track idle time for a consumer that
// only ever read (it reports -1): such a consumer is never long idle.
func (c ConsumerState) LongIdle() bool { return c.Idle >= LongIdle }
