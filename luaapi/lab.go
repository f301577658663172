package luaapi

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/upkeep"

	lua "github.com/yuin/gopher-lua"
)

// labModule is claims.lab: the lab's environment, the server, the
// schemas, raw Redis and a live tail of the events.
type labModule struct {
	store   *streams.Store
	out     io.Writer // monitor() prints here
	jail    *jail     // which commands redis() may send
	backend string    // the start-up line, in server()
	// ephemeral: the server goes with this command; no redis-cli line.
	ephemeral bool
	// switchTo moves the session to another keyspace (nil store: back to
	// its own) and reloads every module on it.
	switchTo func(*streams.Store)
	home     *streams.Store // the session's own keyspace
	pool     *pool          // the session's workers, which sleep() steps in a seeded run
}

func (m *labModule) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"server":   m.server,
		"schema":   m.schema,
		"monitor":  m.monitor,
		"redis":    m.redisCommand,
		"keys":     m.keys,
		"sleep":    m.sleep,
		"key":      m.key,
		"slot":     m.slot,
		"keyspace": m.keyspace,
	}))
	return 1
}

func (m *labModule) server(L *lua.LState) int {
	info, err := upkeep.Server(ctxOf(L), m.store)
	if err != nil {
		return raise(L, err)
	}
	t := L.NewTable()
	t.RawSetString("backend", lua.LString(m.backend))
	t.RawSetString("version", lua.LString(info.Version))
	t.RawSetString("mode", lua.LString(info.Mode))
	t.RawSetString("aof", lua.LBool(info.AOF))
	t.RawSetString("persistence", lua.LString(info.Persistence))
	t.RawSetString("config_refused", lua.LBool(info.ConfigRefused))
	t.RawSetString("partitions", lua.LNumber(m.store.Keys().Partitions()))
	if seeded := m.store.Seeded(); seeded != nil {
		t.RawSetString("seed", lua.LNumber(seeded.Seed()))
	}
	if !m.ephemeral {
		t.RawSetString("redis_cli", lua.LString(redisconn.RedisCLI(m.store.Client())))
	} else {
		t.RawSetString("redis_cli", lua.LString(""))
	}
	L.Push(t)
	return 1
}

func (m *labModule) schema(L *lua.LState) int {
	one := L.OptString(1, "")
	if one != "" && !claims.EventType(one).Known() {
		argError(L, 1, "schema", fmt.Sprintf("%q is not an event type (want one of %s)", one, typeList()))
	}
	all := L.NewTable()
	for _, t := range claims.EventTypes {
		if one != "" && string(t) != one {
			continue
		}
		req, opt := claims.SchemaFields(t)
		e := L.NewTable()
		e.RawSetString("type", lua.LString(t))
		e.RawSetString("required", toLua(L, req))
		e.RawSetString("optional", toLua(L, opt))
		rules := L.NewTable()
		for _, r := range claims.FieldRules(t) {
			rules.RawSetString(r.Name, lua.LString(r.Rule))
		}
		e.RawSetString("rules", rules)
		var from []string
		for _, s := range claims.AllowedFrom(t) {
			from = append(from, s.String())
		}
		e.RawSetString("follows", toLua(L, from))
		if one != "" {
			L.Push(e)
			return 1
		}
		all.Append(e)
	}
	L.Push(all)
	return 1
}

func typeList() string {
	names := make([]string, len(claims.EventTypes))
	for i, t := range claims.EventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// monitor tails claims:events with XREAD, outside any group, so watching
// takes no event away from a consumer.
// monitorIDWidth pads the ids monitor() prints as they arrive: a
// millisecond's ids (13 digits, a dash) up to sequence 99 line up.
const monitorIDWidth = 17

// monitorRetry is how long monitor() waits before trying an unavailable
// Redis again.
const monitorRetry = 500 * time.Millisecond

// pause waits d, or reports false when ctx ends first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (m *labModule) monitor(L *lua.LState) int {
	o := optionsAt(L, 1, "monitor", "seconds", "events", "from")
	limit := o.whole("events", 0, 1, math.MaxInt64)
	ctx := ctxOf(L)
	var deadline time.Time
	if o.has("seconds") {
		deadline = time.Now().Add(o.seconds("seconds", 0))
	}
	var cursor *streams.TailCursor
	var err error
	if from, ok := o.get("from").(*lua.LTable); ok {
		// One id per partition, as info().events.last_ids gives them.
		ids := make([]string, from.Len())
		for i := range ids {
			ids[i] = lua.LVAsString(from.RawGetInt(i + 1))
		}
		cursor, err = m.store.TailCursorAfter(ids)
	} else {
		cursor, err = m.store.NewTailCursor(ctx, o.str("from", "$"))
	}
	if err != nil {
		argError(L, 1, "monitor", err.Error())
	}
	if n := m.store.Keys().Partitions(); n > 1 {
		fmt.Fprintf(m.out, "monitoring the %d partitions of claims:events (XREAD BLOCK over %d streams); Ctrl-C stops\n", n, n)
	} else {
		fmt.Fprintln(m.out, "monitoring claims:events (XREAD BLOCK); Ctrl-C stops")
	}
	seen, lastProgress, down := int64(0), "", false
	// In a seeded run the session's workers take a turn (one batch) each
	// time there is nothing new to read, so the tail shows them one batch
	// after another; only when none has work does the read wait.
	idle := false
	for {
		block := time.Second
		if !deadline.IsZero() {
			block = min(block, time.Until(deadline))
		}
		stepping := m.pool.stepping()
		var ds []streams.Delivery
		var err error
		switch {
		case stepping && !idle:
			ds, err = m.store.Tail(ctx, cursor, 100, 0)
		case block > 0:
			ds, err = m.store.Tail(ctx, cursor, 100, block)
		}
		if ctx.Err() != nil {
			break // Ctrl-C ends the monitor, not the session
		}
		if err != nil && !redisconn.Transient(err) {
			return raise(L, err)
		}
		if err != nil {
			// Redis restarting, a failover: wait it out, from where the
			// cursor is, and say so once.
			if !down {
				fmt.Fprintf(m.out, "  (redis unavailable, reconnecting: %v)\n", err)
				down = true
			}
			if !pause(ctx, monitorRetry) {
				break
			}
			continue
		}
		if down {
			fmt.Fprintln(m.out, "  (reconnected)")
			down = false
		}
		for _, d := range ds {
			fmt.Fprintln(m.out, "  "+eventLine(deliveryTable(L, d), monitorIDWidth))
			seen++
		}
		if progress := m.groupProgress(L); progress != lastProgress {
			fmt.Fprintln(m.out, progress)
			lastProgress = progress
		}
		if (limit > 0 && seen >= limit) || (!deadline.IsZero() && !time.Now().Before(deadline)) {
			break
		}
		idle = false
		if stepping && len(ds) == 0 {
			n, err := m.pool.step(redisconn.Untraced(ctx))
			if err != nil {
				return raise(L, fmt.Errorf("monitor: %w", err))
			}
			idle = n == 0
		}
	}
	L.Push(lua.LNumber(seen))
	return 1
}

func (m *labModule) groupProgress(L *lua.LState) string {
	st, err := m.store.State(redisconn.Untraced(ctxOf(L)))
	if err != nil {
		return "  (group progress unavailable: " + err.Error() + ")"
	}
	events := st.Events()
	if events == nil || len(events.Groups) == 0 {
		return "  (no consumer groups yet)"
	}
	parts := make([]string, 0, len(events.Groups))
	for _, g := range events.Groups {
		parts = append(parts, fmt.Sprintf("%s pending %d lag %d%s", g.Name, g.Pending, g.Lag, retriesText(&g)))
	}
	// Group names come from Redis: anyone may have created one.
	return claims.Printable("  groups: " + strings.Join(parts, " | "))
}

// redisCommand is redis(): keys stay as typed, as in redis-cli, and key()
// is how a script adds the prefix.
func (m *labModule) redisCommand(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		argError(L, 1, "redis", "want a command, e.g. redis(\"XLEN\", \"claims:events\")")
	}
	if s, ok := L.Get(1).(lua.LString); ok && n == 1 && strings.ContainsAny(strings.TrimSpace(string(s)), " \t") {
		// redis-cli's way of typing it: Redis would take the whole line
		// for the command's name.
		fields := strings.Fields(string(s))
		argError(L, 1, "redis", fmt.Sprintf("one argument per word, as redis(%q, %q%s)", fields[0], fields[1], map[bool]string{true: ", ...", false: ""}[len(fields) > 2]))
	}
	words := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			words = append(words, string(v))
		case lua.LNumber:
			words = append(words, v.String())
		default:
			argError(L, i, "redis", fmt.Sprintf("want strings or numbers, got %s", v.Type()))
		}
	}
	if err := m.jail.redisCommand(L, words); err != nil {
		return raise(L, err)
	}
	args := make([]any, len(words))
	for i, w := range words {
		args[i] = w
	}
	v, err := m.store.Do(ctxOf(L), args...)
	if err != nil {
		return raise(L, fmt.Errorf("redis %s: %w", strings.ToUpper(fmt.Sprint(args[0])), err))
	}
	L.Push(replyToLua(L, v))
	return 1
}

func replyToLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case string:
		return lua.LString(x)
	case int64:
		return lua.LNumber(x)
	case []any:
		t := L.NewTable()
		for _, e := range x {
			t.Append(replyToLua(L, e))
		}
		return t
	case map[any]any:
		t := L.NewTable()
		for k, e := range x {
			t.RawSetString(fmt.Sprint(k), replyToLua(L, e))
		}
		return t
	}
	return lua.LString(fmt.Sprint(v))
}

func (m *labModule) keys(L *lua.LState) int {
	keys, err := m.store.ScanKeys(ctxOf(L), L.CheckString(1))
	if err != nil {
		return raise(L, err)
	}
	sort.Strings(keys)
	L.Push(toLua(L, keys))
	return 1
}

func (m *labModule) sleep(L *lua.LState) int {
	d := time.Duration(L.CheckNumber(1)) * time.Millisecond
	if seeded := m.store.Seeded(); seeded != nil {
		// A seeded run: the workers here take their turns, and the
		// clock moves on as far as the script sleeps.
		if m.pool.stepping() {
			if err := m.pool.drain(redisconn.Untraced(ctxOf(L))); err != nil {
				return raise(L, fmt.Errorf("sleep: %w", err))
			}
		}
		seeded.Advance(d)
	}
	select {
	case <-ctxOf(L).Done():
		return raise(L, fmt.Errorf("sleep: interrupted"))
	case <-time.After(d):
	}
	return 0
}

// key is a lab name's key in this session: the prefix, and with
// partitions the partition a claim's key or a named partition lives in.
func (m *labModule) key(L *lua.LState) int {
	const fn = "key"
	name := L.CheckString(1)
	keys := m.store.Keys()
	partition := -1
	switch v := L.Get(2).(type) {
	case *lua.LNilType:
	case lua.LNumber:
		n, problem := wholeNumber(float64(v), 0, int64(keys.Partitions()-1))
		if problem != "" {
			argError(L, 2, fn, "partition "+problem)
		}
		partition = int(n)
	case lua.LString:
		if err := claims.ValidClaimID(string(v)); err != nil {
			argError(L, 2, fn, err.Error())
		}
		partition = keys.PartitionOf(string(v))
	default:
		argError(L, 2, fn, "give a partition number (0 to "+strconv.Itoa(keys.Partitions()-1)+") or a claim id, got a "+v.Type().String())
	}
	k, err := keys.Lab(name, partition)
	if err != nil {
		argError(L, 1, fn, err.Error())
	}
	L.Push(lua.LString(k))
	return 1
}

// slot is the Redis Cluster hash slot of a key, as CLUSTER KEYSLOT says.
func (m *labModule) slot(L *lua.LState) int {
	L.Push(lua.LNumber(streams.Slot(L.CheckString(1))))
	return 1
}

// keyspace moves the session to a keyspace of its own under a prefix,
// laid out in partitions, so a lab step can show partitions to a session
// started without them; keyspace() goes back.
func (m *labModule) keyspace(L *lua.LState) int {
	const fn = "keyspace"
	if m.jail != nil {
		return raise(L, fmt.Errorf("%s: not in a sandbox, whose keyspace is the exercise's", fn))
	}
	next := m.home
	if L.GetTop() > 0 {
		o := optionsAt(L, 1, fn, "prefix", "partitions")
		prefix := o.text("prefix", "")
		if prefix == "" {
			argError(L, 1, fn, `give a prefix of its own, like keyspace{prefix="step12:", partitions=4}`)
		}
		if err := claims.ValidName("prefix", strings.TrimSuffix(prefix, ":")); err != nil {
			argError(L, 1, fn, err.Error())
		}
		var err error
		next, err = m.home.Reopen(ctxOf(L), prefix, int(o.whole("partitions", 0, 1, streams.MaxPartitions)))
		if err != nil {
			return raise(L, fmt.Errorf("%s: %w", fn, err))
		}
	}
	m.switchTo(next)
	k := next.Keys()
	t := L.NewTable()
	t.RawSetString("prefix", lua.LString(k.Prefix))
	t.RawSetString("partitions", lua.LNumber(k.Partitions()))
	L.Push(t)
	return 1
}
