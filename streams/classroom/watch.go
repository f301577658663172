package classroom

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"claimsctl/streams/quota"

	"github.com/redis/go-redis/v9"
)

// quotasKey holds each student's quota: field NAME, value "BYTES KEYS".
// No student reaches it: a name starts with a letter or digit, so no
// ~NAME:* pattern matches a key that starts with '{'.
const quotasKey = "{claimsctl}:class:quotas"

// SetQuota records the quota of each named student, which Watcher
// enforces. A zero Limits removes it (the watcher's default then holds).
func SetQuota(ctx context.Context, rdb redis.UniversalClient, names []string, limits quota.Limits) error {
	if len(names) == 0 {
		return nil
	}
	if limits == (quota.Limits{}) {
		if err := rdb.HDel(ctx, quotasKey, names...).Err(); err != nil {
			return fmt.Errorf("forget the students' quotas (HDEL %s): %w", quotasKey, err)
		}
		return nil
	}
	value := strconv.FormatInt(limits.Bytes, 10) + " " + strconv.FormatInt(limits.Keys, 10)
	fields := make([]any, 0, 2*len(names))
	for _, name := range names {
		fields = append(fields, name, value)
	}
	if err := rdb.HSet(ctx, quotasKey, fields...).Err(); err != nil {
		return fmt.Errorf("record the students' quotas (HSET %s): %w", quotasKey, err)
	}
	return nil
}

// Quotas is every recorded quota, by student.
func Quotas(ctx context.Context, rdb redis.UniversalClient) (map[string]quota.Limits, error) {
	all, err := rdb.HGetAll(ctx, quotasKey).Result()
	if err != nil {
		return nil, fmt.Errorf("read the students' quotas (HGETALL %s): %w", quotasKey, err)
	}
	quotas := make(map[string]quota.Limits, len(all))
	for name, value := range all {
		bytes, keys, _ := strings.Cut(value, " ")
		b, berr := strconv.ParseInt(bytes, 10, 64)
		k, kerr := strconv.ParseInt(keys, 10, 64)
		if berr != nil || kerr != nil || b < 0 || k < 0 {
			return nil, fmt.Errorf("the quota of %s in %s is %q, not BYTES KEYS", name, quotasKey, value)
		}
		quotas[name] = quota.Limits{Bytes: b, Keys: k}
	}
	return quotas, nil
}

// blockRules take a student's writes away but those that free memory, so
// it can get back under its quota by deleting keys; restoreRules give
// them back (the command rules of Rules, its keys unchanged). Redis
// applies them to the student's open connections at once, and to the
// commands its scripts call.
var (
	blockRules   = []string{"-@write", "+del", "+unlink", "+xdel", "+xtrim", "+hdel"}
	restoreRules = append([]string{"+@all"}, deniedCommands...)
)

// Status is one student as a watch measured it.
type Status struct {
	Name    string
	Usage   quota.Usage
	Limits  quota.Limits
	Blocked bool // its writes are refused: it is over its quota
	Changed bool // Blocked changed with this measurement
}

// Over names the quota the student is past: "bytes", "keys" or "".
func (s Status) Over() string {
	switch {
	case s.Limits.Bytes > 0 && s.Usage.Bytes > s.Limits.Bytes:
		return "bytes"
	case s.Limits.Keys > 0 && s.Usage.Keys > s.Limits.Keys:
		return "keys"
	}
	return ""
}

// Watcher enforces the students' quotas on the server, which ACLs cannot
// bound: each Tick measures what every student's keys hold (SCAN of
// NAME:* and MEMORY USAGE, in every database) and takes a student's
// writes away while it is over its quota.
type Watcher struct {
	rdb redis.UniversalClient
	// Default is the quota of a student with none recorded.
	Default quota.Limits
	// blocked is what the last Tick set; a student it has not seen yet
	// gets its rules set either way, whatever an earlier watch left.
	blocked map[string]bool
}

// NewWatcher watches the class on rdb, connected as an admin.
func NewWatcher(rdb redis.UniversalClient, defaults quota.Limits) *Watcher {
	return &Watcher{rdb: rdb, Default: defaults, blocked: map[string]bool{}}
}

// Tick measures every student once and blocks or unblocks those whose
// side of their quota changed. Statuses are sorted by name.
func (w *Watcher) Tick(ctx context.Context) ([]Status, error) {
	names, err := List(ctx, w.rdb)
	if err != nil {
		return nil, err
	}
	quotas, err := Quotas(ctx, w.rdb)
	if err != nil {
		return nil, err
	}
	statuses := make([]Status, 0, len(names))
	for _, name := range names {
		limits, ok := quotas[name]
		if !ok {
			limits = w.Default
		}
		usage, err := measureEveryDB(ctx, w.rdb, Prefix(name))
		if err != nil {
			return statuses, fmt.Errorf("measure %s: %w", name, err)
		}
		s := Status{Name: name, Usage: usage, Limits: limits}
		s.Blocked = s.Over() != ""
		was, seen := w.blocked[name]
		if !seen || was != s.Blocked {
			rules := restoreRules
			if s.Blocked {
				rules = blockRules
			}
			if err := setRules(ctx, w.rdb, name, rules); err != nil {
				return statuses, err
			}
			w.blocked[name] = s.Blocked
			s.Changed = seen || s.Blocked
		}
		statuses = append(statuses, s)
	}
	// A student removed since is no longer watched.
	for _, name := range slices.Collect(maps.Keys(w.blocked)) {
		if !slices.Contains(names, name) {
			delete(w.blocked, name)
		}
	}
	return statuses, nil
}

func setRules(ctx context.Context, rdb redis.UniversalClient, name string, rules []string) error {
	args := []any{"ACL", "SETUSER", name}
	for _, r := range rules {
		args = append(args, r)
	}
	err := eachNode(ctx, rdb, func(ctx context.Context, node *redis.Client) error {
		return node.Do(ctx, args...).Err()
	})
	if err != nil {
		return fmt.Errorf("set the rules of %s (ACL SETUSER %s %s): %w", name, name, strings.Join(rules, " "), err)
	}
	return nil
}

// measureEveryDB is what prefix holds in every database of one server
// (a student may SELECT another, where its ACL holds it to the same
// keys), or on a cluster's masters.
func measureEveryDB(ctx context.Context, rdb redis.UniversalClient, prefix string) (quota.Usage, error) {
	c, ok := rdb.(*redis.Client)
	if !ok {
		return quota.Measure(ctx, rdb, prefix)
	}
	info, err := c.Info(ctx, "keyspace").Result()
	if err != nil {
		return quota.Usage{}, fmt.Errorf("list the databases (INFO keyspace): %w", err)
	}
	var (
		mu    sync.Mutex
		total quota.Usage
		wg    sync.WaitGroup
		errs  []error
	)
	for _, db := range databases(info) {
		wg.Go(func() {
			o := *c.Options()
			o.DB = db
			dbc := redis.NewClient(&o)
			defer dbc.Close()
			u, err := quota.Measure(ctx, dbc, prefix)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("db %d: %w", db, err))
				return
			}
			total.Bytes += u.Bytes
			total.Keys += u.Keys
		})
	}
	wg.Wait()
	return total, errors.Join(errs...)
}

// databases are the numbers of the databases INFO keyspace lists
// ("db0:keys=12,expires=0,avg_ttl=0" a line): those that hold keys.
func databases(info string) []int {
	var dbs []int
	for line := range strings.Lines(info) {
		name, _, ok := strings.Cut(strings.TrimSpace(line), ":")
		if n, err := strconv.Atoi(strings.TrimPrefix(name, "db")); ok && strings.HasPrefix(name, "db") && err == nil {
			dbs = append(dbs, n)
		}
	}
	return dbs
}
