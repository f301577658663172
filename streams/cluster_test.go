package streams

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// On a Redis Cluster every script call must keep to one hash slot. The
// store suite runs on the package's cluster with 6 partitions, and
// newClusterStore watches every command for CROSSSLOT, so a script that
// spans two partitions fails the test that ran it even where the store
// handles the error (a worker logs it and tries again). The tests below
// make sure every script and operation is run on the cluster, that the
// batches are packed a slot per call, and that the watch does notice.

// TestBatchCallsKeepOneSlotPerCall packs the effects of many claims of
// every partition, interleaved as a worker's batch is, with the slot
// function runAll uses on a cluster: no call mixes slots, each slot's
// effects keep their order, every effect is in exactly one call, and each
// call decodes (as batch.lua reads it) back to its effects.
func TestBatchCallsKeepOneSlotPerCall(t *testing.T) {
	t.Parallel()
	k := NewKeys("t:", evenTags(6))
	var effects []Effect
	for i := range 500 {
		id := fmt.Sprintf("claim-%d", i)
		pk := k.ForClaim(id)
		fields := []any{"version", strconv.Itoa(i%3 + 1)}
		effects = append(effects,
			projectCall{ReadModel: pk.ReadModel(id), AdjusterLoad: pk.AdjusterLoad(), Version: 1, Allowed: "|submitted|", Fields: fields}.effect(),
			countCall{Stats: pk.Stats(), StatsClaims: pk.StatsClaims(), ClaimID: id, Version: 1}.effect(),
			notifyCall{Notifications: pk.Notifications(), Seen: pk.NotifySeen(), ClaimID: id, Version: 1, Fields: fields}.effect(),
			auditCall{Trail: pk.Audit(id), Version: 1, Line: `{"version":1}`}.effect(),
		)
		if i%50 == 0 {
			effects = append(effects,
				deadLetterCall{Source: pk.Events(), DLQ: pk.DLQ(), Group: GroupAudit, ID: "1-0", Fields: fields}.effect(),
				retryCall{DLQ: pk.DLQ(), Source: pk.Events(), Aggregate: pk.Aggregate(id), Version: 1, Original: "1-0", Letters: []string{"2-0"}, Fields: fields}.effect(),
				decideCall{Stream: pk.Events(), Aggregate: pk.Aggregate(id), ReadModel: pk.ReadModel(id), AdjusterLoad: pk.AdjusterLoad(), ClaimID: id, EventID: "e"}.effect(),
				rebuildCall{Aggregate: pk.Aggregate(id), Version: 1}.effect(),
			)
		}
	}
	slotOf := func(e Effect) int { return Slot(e.Keys[0]) }
	for _, e := range effects {
		for _, key := range e.Keys {
			require.Equal(t, slotOf(e), Slot(key), "precondition: an effect keeps to its claim's slot: %s", key)
		}
	}

	calls := batchCalls(effects, slotOf)
	slots := map[int]bool{}
	last := map[int]int{} // slot -> the last effect index packed for it
	packed := 0
	for n, c := range calls {
		slot := Slot(c.keys[0])
		slots[slot] = true
		for _, key := range c.keys {
			require.Equal(t, slot, Slot(key), "call %d mixes slots: %s", n, key)
		}
		assert.LessOrEqual(t, len(c.items), maxBatchItems, "call %d", n)
		assert.LessOrEqual(t, len(c.args), maxBatchArgs, "call %d", n)
		decoded := decodeBatchCall(t, c)
		require.Len(t, decoded, len(c.items), "call %d", n)
		for j, i := range c.items {
			if at, ok := last[slot]; ok {
				require.Greater(t, i, at, "slot %d: effect %d after %d", slot, i, at)
			}
			last[slot] = i
			assert.Equal(t, effects[i], decoded[j], "call %d, item %d", n, j)
			packed++
		}
	}
	assert.Equal(t, len(effects), packed, "every effect in one call")
	assert.Len(t, slots, 6, "a slot per partition")
	assert.Greater(t, len(calls), 6, "the per-call bounds split the larger slots")

	one := batchCalls(effects[:40], nil)
	require.Len(t, one, 1, "without a slot function (one server) a small batch is one call")
	assert.Greater(t, len(slices.Compact(slices.Sorted(func(yield func(int) bool) {
		for _, key := range one[0].keys {
			if !yield(Slot(key)) {
				return
			}
		}
	}))), 1, "and mixes slots, as one server allows")
}

// decodeBatchCall reads a batch.lua call as the script does: ARGV[1] n,
// then per operation its name, q and q indexes into KEYS, r and r args.
func decodeBatchCall(t *testing.T, c batchCall) []Effect {
	t.Helper()
	num := func(v any) int {
		n, err := strconv.Atoi(fmt.Sprint(v))
		require.NoError(t, err, "not a count: %v", v)
		return n
	}
	var out []Effect
	at := 1
	for range num(c.args[0]) {
		e := Effect{Op: c.args[at].(string)}
		q := num(c.args[at+1])
		for j := range q {
			e.Keys = append(e.Keys, c.keys[num(c.args[at+2+j])-1])
		}
		r := num(c.args[at+2+q])
		from := at + 3 + q
		e.Args = slices.Clone(c.args[from : from+r])
		if r == 0 {
			e.Args = nil
		}
		out = append(out, e)
		at = from + r
	}
	require.Equal(t, len(c.args), at, "every argument read")
	return out
}

// TestACrossSlotBatchIsRefusedByTheCluster: the effects of two partitions
// packed into one call by hand, as one server would take them, are
// refused by the real cluster with CROSSSLOT, and the watch every cluster
// store has records it; the store packs the same effects a slot per call
// and the cluster runs them.
func TestACrossSlotBatchIsRefusedByTheCluster(t *testing.T) {
	t.Parallel()
	s, watch := newWatchedClusterStore(t, Options{})
	ctx := context.Background()
	var effects []Effect
	for p := range 2 {
		id := claimIDsIn(s, p, 1)[0]
		effects = append(effects, auditCall{Trail: s.Keys().Audit(id), Version: 1, Line: `{"version":1,"detail":"by hand"}`}.effect())
	}
	require.NotEqual(t, Slot(effects[0].Keys[0]), Slot(effects[1].Keys[0]), "precondition: two slots")

	mixed := batchCalls(effects, nil)
	require.Len(t, mixed, 1)
	_, err := s.evalSha(ctx, batchScript, mixed[0].keys, mixed[0].args...)
	require.Error(t, err)
	assert.Equal(t, redisconn.KindCrossSlot, redisconn.Classify(err), "got %v", err)
	require.Len(t, watch.Seen(), 1, "the watch noticed")
	assert.Contains(t, watch.Seen()[0], "evalsha "+batchScript.Hash())

	replies, errs, err := s.runAll(ctx, nil, effects)
	require.NoError(t, err)
	for i := range effects {
		require.NoError(t, errs[i])
		assert.Equal(t, "ok", replies[i].Status)
	}
	assert.Len(t, watch.Seen(), 1, "nothing else refused")
}

// scriptLog is a go-redis hook that records which scripts ran without an
// error (by SHA1, EVALSHA or EVAL) and, for batch.lua, which operations.
type scriptLog struct {
	mu      sync.Mutex
	names   map[string]string // sha1 -> script name
	scripts map[string]bool
	ops     map[string]bool
}

func logScripts(rdb redis.UniversalClient) *scriptLog {
	l := &scriptLog{names: map[string]string{
		appendScript.Hash(): "append.lua", batchScript.Hash(): "batch.lua", forgetScript.Hash(): "forget_consumer.lua",
	}, scripts: map[string]bool{}, ops: map[string]bool{}}
	rdb.AddHook(l)
	return l
}

func (l *scriptLog) note(cmds ...redis.Cmder) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, cmd := range cmds {
		args := cmd.Args()
		if cmd.Err() != nil || len(args) < 3 {
			continue
		}
		sha := fmt.Sprint(args[1])
		switch cmd.Name() {
		case "evalsha":
		case "eval":
			sum := sha1.Sum([]byte(sha))
			sha = hex.EncodeToString(sum[:])
		default:
			continue
		}
		name, ok := l.names[sha]
		if !ok {
			name = "unknown script " + sha
		}
		l.scripts[name] = true
		if name != "batch.lua" {
			continue
		}
		// ARGV follows the keys: n, then per operation its name, q, q
		// indexes, r, r arguments.
		keys, _ := strconv.Atoi(fmt.Sprint(args[2]))
		argv := args[3+keys:]
		at := 1
		for range toInt(argv[0]) {
			l.ops[fmt.Sprint(argv[at])] = true
			q := toInt(argv[at+1])
			at += 3 + q + toInt(argv[at+2+q])
		}
	}
}

func toInt(v any) int {
	n, _ := strconv.Atoi(fmt.Sprint(v))
	return n
}

func (l *scriptLog) ran() (scripts, ops []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(maps.Keys(l.scripts)), slices.Sorted(maps.Keys(l.ops))
}

func (l *scriptLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (l *scriptLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		l.note(cmd)
		return err
	}
}

func (l *scriptLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		l.note(cmds...)
		return err
	}
}

// TestEveryScriptRunsOnTheCluster drives every script and every batch
// operation the store has on the cluster with 6 partitions: commands
// (append.lua), a bulk submit (append), the four workers (decide, project,
// count, notify, audit), a forged entry (deadletter), a retried dead
// letter (retry), a rebuild (rebuild) and forgetting a consumer
// (forget_consumer.lua). Each must run without an error, and the cluster
// store's watch fails the test on any CROSSSLOT. A new script or
// operation fails it until it is driven here too.
func TestEveryScriptRunsOnTheCluster(t *testing.T) {
	t.Parallel()
	s := newClusterStore(t, Options{})
	log := logScripts(s.Client())
	ctx := context.Background()
	_, err := s.LoadSampleData(ctx, claims.SampleOptions{Seed: 1})
	require.NoError(t, err)

	// Claims the processor assigns: POL-0001 covers them, and has since
	// before their incident (the sample's policies run around today).
	sub := testSubmission()
	sub.IncidentDate = time.Now().AddDate(0, 0, -1).Format(time.DateOnly)
	_, c, err := s.Submit(ctx, sub, EmitOptions{})
	require.NoError(t, err)
	var bulk []NewClaim
	for range 24 {
		bulk = append(bulk, sub.NewClaim())
	}
	res, err := s.SubmitMany(ctx, bulk, BulkOptions{})
	require.NoError(t, err)
	forged, err := s.Client().XAdd(ctx, &redis.XAddArgs{Stream: s.Keys().ForClaim(c.ID).Events(), Values: []any{"note", "by hand"}}).Result()
	require.NoError(t, err)

	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, name := range WorkerNames {
		h, err := s.NewWorker(name)
		require.NoError(t, err)
		wg.Go(func() {
			assert.NoError(t, s.RunWorker(wctx, h, WorkerOptions{Consumer: "w1", Block: 20 * time.Millisecond}))
		})
	}
	defer func() { stop(); wg.Wait() }()
	caughtUp := func() bool {
		st, err := s.State(ctx)
		if err != nil {
			return false
		}
		for _, group := range []string{GroupProcessors, GroupAnalytics, GroupNotifications, GroupAudit} {
			if g := st.Events().Group(group); g == nil || g.Pending > 0 || g.Lag > 0 {
				return false
			}
		}
		return true
	}
	waitForCondition(t, "every claim decided", caughtUp)
	// The processor projects what follows its decision.
	_, _, err = s.Emit(ctx, res.ClaimIDs[0], claims.DocumentUploaded, map[string]any{"document_type": "photo", "filename": "a.jpg"}, EmitOptions{})
	require.NoError(t, err)
	waitForCondition(t, "the upload handled", caughtUp)
	dlq, err := s.DLQ(ctx)
	require.NoError(t, err)
	require.Len(t, dlq, len(WorkerNames), "the forged entry dead-lettered by every group")
	for _, dl := range dlq {
		assert.Equal(t, forged, dl.SourceID)
	}

	// A dead letter of an event the store wrote goes back on its stream.
	ds, err := s.Consume(ctx, "by-hand", "c1", ConsumeOptions{Count: 1})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, ds[0].Err)
	require.NoError(t, s.DeadLetter(ctx, "by-hand", ds[0], errors.New("tried by hand"), 1))
	dlq, err = s.DLQ(ctx)
	require.NoError(t, err)
	i := slices.IndexFunc(dlq, func(dl DeadLetter) bool { return dl.Group == "by-hand" })
	require.GreaterOrEqual(t, i, 0)
	n, err := s.RetryDLQ(ctx, dlq[i].ID)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	waitForCondition(t, "the retried entry handled", caughtUp)

	rebuilt, err := s.Rebuild(ctx)
	require.NoError(t, err)
	assert.Equal(t, RebuildResult{Claims: 25, Events: 51, Malformed: 1, NotWritten: 1}, rebuilt,
		"25 claims: submitted, decided, one upload; the forged entry, the retry's old entry")

	gone, err := s.DeleteIdleConsumers(ctx, "by-hand", ForgetOptions{Idle: time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, []string{"c1"}, gone.Deleted, "kept: %v", gone.Kept)

	var want []string
	files, err := scriptFiles.ReadDir("scripts/ops")
	require.NoError(t, err)
	for _, f := range files {
		want = append(want, strings.TrimSuffix(f.Name(), ".lua"))
	}
	scripts, ops := log.ran()
	assert.Equal(t, want, ops, "every operation of scripts/ops ran on the cluster")
	assert.Equal(t, []string{"append.lua", "batch.lua", "forget_consumer.lua"}, scripts, "every script ran on the cluster")
	top, err := scriptFiles.ReadDir("scripts")
	require.NoError(t, err)
	var names []string
	for _, f := range top {
		if !f.IsDir() {
			names = append(names, f.Name())
		}
	}
	assert.Equal(t, []string{"append.lua", "batch.lua", "batchlib.lua", "forget_consumer.lua", "lib.lua"}, names,
		"the scripts are the three above and their two libraries: drive a new one here")
}
