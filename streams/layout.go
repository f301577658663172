package streams

import (
	"claimsctl/streams/redisconn"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// The layout of a keyspace (how many partitions, which hash tags) is kept
// in claims:meta, written with the first event, so that every process on
// it agrees: one started with another --partitions is refused.

// ErrLayout is a process whose partitions differ from the keyspace's.
var ErrLayout = errors.New("partitions differ from the keyspace's")

// MaxPartitions bounds --partitions: every worker reads each partition.
const MaxPartitions = 1024

// Open connects a store to a keyspace as claims:meta describes it: with
// Options.Partitions 0 the keyspace's own count is taken; a different
// count is refused, naming both. A new keyspace gets opts.Partitions (1
// when 0) and, on a cluster or with more than one, hash tags chosen by
// their slot so the partitions spread evenly over the cluster's masters.
func Open(ctx context.Context, rdb redis.UniversalClient, opts Options) (*Store, error) {
	probe := New(rdb, Options{Prefix: opts.Prefix})
	stored, err := readMeta(ctx, probe)
	if err != nil {
		return nil, err
	}
	_, cluster := rdb.(*redis.ClusterClient)
	switch {
	case stored != nil && opts.Partitions != 0 && opts.Partitions != stored.partitions():
		return nil, layoutError(opts.Prefix, stored.partitions(), opts.Partitions)
	case stored != nil:
		opts.Partitions, opts.Tags = stored.partitions(), stored.tags
	case opts.Tags != nil:
	case cluster:
		if opts.Tags, err = clusterTags(ctx, rdb.(*redis.ClusterClient), max(opts.Partitions, 1)); err != nil {
			return nil, err
		}
	case opts.Partitions > 1:
		opts.Tags = evenTags(opts.Partitions)
	}
	if cluster && opts.Tags == nil {
		// The lab's bare names would put a claim's keys on several slots.
		return nil, fmt.Errorf("%s holds the lab's unpartitioned key names, which a Redis Cluster cannot serve: %w", probe.keys.Meta(), ErrLayout)
	}
	return New(rdb, opts), nil
}

// Reopen is a store like this one on another keyspace of the same Redis:
// under prefix (after this store's own), with partitions partitions (0:
// the keyspace's own count, or 1), as Open opens one.
func (s *Store) Reopen(ctx context.Context, prefix string, partitions int) (*Store, error) {
	o := s.opts
	o.Prefix, o.Partitions, o.Tags = s.keys.Prefix+prefix, partitions, nil
	return Open(ctx, s.rdb, o)
}

func layoutError(prefix string, stored, asked int) error {
	return fmt.Errorf("this keyspace has %d partition(s) (%sclaims:meta), not the %d asked for: start with --partitions %d, or leave it out to take the keyspace's: %w",
		stored, prefix, asked, stored, ErrLayout)
}

// meta is claims:meta: the partitions' tags, "" for the lab's names.
type meta struct {
	tags []string
}

func (m *meta) partitions() int { return max(len(m.tags), 1) }

func (m *meta) fields() []any {
	return []any{"partitions", strconv.Itoa(m.partitions()), "tags", strings.Join(m.tags, ",")}
}

func readMeta(ctx context.Context, s *Store) (*meta, error) {
	fields, err := s.rdb.HGetAll(ctx, s.keys.Meta()).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.keys.Meta(), err)
	}
	if len(fields) == 0 {
		return nil, nil
	}
	m := &meta{}
	if t := fields["tags"]; t != "" {
		m.tags = strings.Split(t, ",")
	}
	if n, _ := strconv.Atoi(fields["partitions"]); n != m.partitions() {
		return nil, fmt.Errorf("%s says %s partitions and tags %q: it is damaged", s.keys.Meta(), fields["partitions"], fields["tags"])
	}
	return m, nil
}

// layoutGuard writes claims:meta before the first write of a process, once.
type layoutGuard struct {
	mu   sync.Mutex
	done bool
}

// ensureLayout records this store's layout in claims:meta if the keyspace
// has none, and refuses to write if it has another.
func ensureLayout(ctx context.Context, s *Store) error {
	g := s.layout
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return nil
	}
	mine := &meta{tags: s.keys.tags}
	pipe := s.rdb.Pipeline()
	f := mine.fields()
	for i := 0; i < len(f); i += 2 {
		pipe.HSetNX(ctx, s.keys.Meta(), f[i].(string), f[i+1])
	}
	if _, err := pipe.Exec(redisconn.Untraced(ctx)); err != nil {
		return fmt.Errorf("write %s: %w", s.keys.Meta(), err)
	}
	stored, err := readMeta(redisconn.Untraced(ctx), s)
	if err != nil {
		return err
	}
	if stored == nil || strings.Join(stored.tags, ",") != strings.Join(mine.tags, ",") {
		have := 0
		if stored != nil {
			have = stored.partitions()
		}
		if have == mine.partitions() {
			return fmt.Errorf("this keyspace's partitions have other hash tags (%s): start without --partitions to take them: %w", s.keys.Meta(), ErrLayout)
		}
		return layoutError(s.keys.Prefix, have, mine.partitions())
	}
	g.done = true
	return nil
}

// evenTags are n tags whose slots are spread evenly over the 16384, so
// that a cluster's usual even slot ranges give each master its share.
func evenTags(n int) []string {
	ranges := make([][2]int, n)
	for i := range ranges {
		ranges[i] = [2]int{i * redisconn.SlotCount / n, (i+1)*redisconn.SlotCount/n - 1}
	}
	return tagsIn(ranges)
}

// clusterTags are n tags spread over the cluster's masters as they are:
// partition i on master i mod m, at a slot that master serves.
func clusterTags(ctx context.Context, rdb *redis.ClusterClient, n int) ([]string, error) {
	sh, err := redisconn.ReadShards(ctx, rdb)
	if err != nil {
		return nil, fmt.Errorf("read the cluster's slots: %w", err)
	}
	masters, byMaster := sh.Masters, sh.Slots
	if len(masters) == 0 {
		return nil, fmt.Errorf("the cluster serves no slots yet")
	}
	sort.Strings(masters)
	var used = map[string]bool{}
	tags := make([]string, n)
	for i := range tags {
		ranges := byMaster[masters[i%len(masters)]]
		tags[i] = firstTag(func(slot int) bool {
			for _, r := range ranges {
				if slot >= r[0] && slot <= r[1] {
					return true
				}
			}
			return false
		}, used)
	}
	return tags, nil
}

// tagsIn picks a tag with its slot in each range.
func tagsIn(ranges [][2]int) []string {
	used := map[string]bool{}
	tags := make([]string, len(ranges))
	for i, r := range ranges {
		tags[i] = firstTag(func(slot int) bool { return slot >= r[0] && slot <= r[1] }, used)
	}
	return tags
}

// firstTag is the shortest unused tag ("a" … "z", "aa" …) whose slot ok
// accepts: short, so key names stay readable.
func firstTag(ok func(slot int) bool, used map[string]bool) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	for length := 1; ; length++ {
		total := 1
		for range length {
			total *= len(letters)
		}
		for i := 0; i < total; i++ {
			b := make([]byte, length)
			for j, x := length-1, i; j >= 0; j, x = j-1, x/len(letters) {
				b[j] = letters[x%len(letters)]
			}
			tag := string(b)
			if !used[tag] && ok(Slot(tag)) {
				used[tag] = true
				return tag
			}
		}
	}
}

// Slot is the Redis Cluster hash slot of a key: CRC16 (XMODEM) of its hash
// tag, the part between the first { and the next }, if non-empty, else of
// the whole key, modulo 16384.
func Slot(key string) int {
	if start := strings.IndexByte(key, '{'); start >= 0 {
		if end := strings.IndexByte(key[start+1:], '}'); end > 0 {
			key = key[start+1 : start+1+end]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % redisconn.SlotCount
}

// layoutOf is the keys a store of opts uses: opts.Tags, or n even tags.
func layoutOf(opts Options) Keys {
	tags := opts.Tags
	if tags == nil && opts.Partitions > 1 {
		tags = evenTags(opts.Partitions)
	}
	return NewKeys(opts.Prefix, tags)
}
