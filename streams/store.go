package streams

import (
	"context"
	"io"
	"strconv"
	"time"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/scripts"
	"claimsctl/streams/streamview"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Options configure a Store. The zero value is the lab's layout.
type Options struct {
	// Prefix is prepended to every key (default "": the lab's key names).
	Prefix string
	// Now is the clock for occurred_at (default time.Now).
	Now func() time.Time
	// NewID names new claims and events (default a random uuid); a lab run
	// that must print the same on every run gives one from a seed.
	NewID func() string
	// Seeded, if set, makes the run repeat itself (claimsctl --seed): it
	// is the clock and the id source (Now and NewID are ignored), and
	// every entry the store appends is dated by it (XADD ms-*), so a run
	// on a fresh keyspace (upkeep.CheckFresh) gets the same entry ids each time.
	Seeded *claims.Seeded
	// RetryFor is how long a transient Redis failure (a restart, a
	// cluster failover) is retried before it is the caller's (default 10s).
	RetryFor time.Duration
	// Actor is written to events whose command names none (default "claimsctl").
	Actor string
	// CountLag counts each group's lag from the stream instead of trusting
	// XINFO GROUPS (the embedded server reports the stream length there).
	CountLag bool
	// Partitions is how many event streams claims are spread over (0 or 1:
	// one, with the lab's key names). Open takes it from claims:meta.
	Partitions int
	// Tags are the partitions' hash tags (nil: chosen evenly over the
	// slots; Open takes them from claims:meta or the cluster).
	Tags []string
	// Durable is how many replicas must have an append (WAIT) before it
	// counts as done (0: none; replication is asynchronous).
	Durable int
}

// Store is the claims event store on Redis Streams. It is safe for
// concurrent use by several goroutines.
type Store struct {
	rdb     redis.UniversalClient
	keys    Keys
	opts    Options
	tracer  *redisconn.Tracer
	view    *streamview.Reader
	scripts *scripts.Cache
	recent  *claimCache
	layout  *layoutGuard
}

func init() {
	// Every event gets a uuid: take them from a pool refilled in batches
	// rather than read the system's random source once each.
	uuid.EnableRandPool()
}

// New wraps a connected client, with the layout opts says (Open reads it
// from the keyspace instead). The caller keeps ownership of rdb.
func New(rdb redis.UniversalClient, opts Options) *Store {
	if opts.Seeded != nil {
		opts.Now, opts.NewID = opts.Seeded.Now, opts.Seeded.NewID
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = uuid.NewString
	}
	if opts.RetryFor <= 0 {
		opts.RetryFor = 10 * time.Second
	}
	if opts.Actor == "" {
		opts.Actor = claims.DefaultActor
	}
	s := &Store{
		rdb: rdb, keys: layoutOf(opts), opts: opts, tracer: &redisconn.Tracer{},
		scripts: &scripts.Cache{}, recent: newClaimCache(), layout: &layoutGuard{},
	}
	s.view = newView(rdb, s.keys, opts.CountLag)
	rdb.AddHook(s.tracer)
	return s
}

// State reads the state view of the keyspace's streams (see
// streamview.Reader.Read): one pipelined round trip in the steady state.
func (s *Store) State(ctx context.Context) (*streamview.State, error) { return s.view.Read(ctx) }

// newView is the state view of a layout's streams, a group's retry stream
// beside each event stream.
func newView(rdb redis.UniversalClient, k Keys, countLag bool) *streamview.Reader {
	return streamview.NewReader(rdb, streamview.Layout{
		Streams: k.Streams(), EventStreams: k.EventStreams(),
		RetryOf: func(stream, group string) string {
			p, _ := k.StreamPartition(stream)
			if pk := k.Partition(p); pk.Events() == stream {
				return pk.Retry(group)
			}
			return ""
		},
	}, countLag)
}

// cluster reports a Redis Cluster: commands on keys of several slots go
// one per slot.
func cluster(s *Store) bool {
	_, ok := s.rdb.(*redis.ClusterClient)
	return ok
}

// Keys returns the key layout in use.
func (s *Store) Keys() Keys { return s.keys }

// Client exposes the connection, for tests that check what reached Redis.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Now is the store's clock, in UTC to the millisecond: what dates its
// events and sample data (a seeded run's logical clock, which it moves
// on).
func (s *Store) Now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }

// Seeded is the run's seed, ids and clock, or nil when the run is not
// seeded (claimsctl --seed).
func (s *Store) Seeded() *claims.Seeded { return s.opts.Seeded }

// EntryAt is the time an entry dated t asks the scripts for, a call's At
// (see xadd in scripts/lib.lua): "" lets Redis number it by its own clock (XADD *),
// the default; a seeded run dates it by its logical clock.
func (s *Store) EntryAt(t time.Time) string {
	if s.opts.Seeded == nil {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// SetTrace starts printing every Redis command to w; nil stops it.
func (s *Store) SetTrace(w io.Writer) { s.tracer.SetOutput(w) }

// Tracing reports whether SetTrace is on.
func (s *Store) Tracing() bool { return s.tracer.Enabled() }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

// WithPrefix is a store on the same connection whose keys carry another
// prefix: an isolated keyspace, e.g. for one graded exercise.
func (s *Store) WithPrefix(prefix string) *Store {
	c := *s
	c.opts.Prefix = prefix
	c.keys = NewKeys(prefix, s.keys.tags)
	c.layout = &layoutGuard{}
	c.view = newView(c.rdb, c.keys, c.opts.CountLag)
	c.recent = newClaimCache()
	return &c
}
