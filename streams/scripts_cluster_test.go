package streams_test

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

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/scripts"
	"claimsctl/streams/streamstest"
	"claimsctl/streams/upkeep"
	"claimsctl/streams/workers"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every script and batch operation runs on the cluster (cluster_test.go
// says why): an outside test, so that it drives them through the packages
// that use the store as well (upkeep.Rebuild).

// scriptLog is a go-redis hook that records which scripts ran without an
// error (by SHA1, EVALSHA or EVAL) and, for batch.lua, which operations.
type scriptLog struct {
	mu      sync.Mutex
	names   map[string]string // sha1 -> script name
	scripts map[string]bool
	ops     map[string]bool
}

func logScripts(rdb redis.UniversalClient) *scriptLog {
	l := &scriptLog{names: map[string]string{scripts.Append.Hash(): "append.lua", scripts.Batch.Hash(): "batch.lua", scripts.ForgetConsumer.Hash(): "forget_consumer.lua"}, scripts: map[string]bool{}, ops: map[string]bool{}}
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
	s := streams.NewClusterStore(t, streams.Options{})
	log := logScripts(s.Client())
	ctx := context.Background()
	_, err := upkeep.LoadSampleData(ctx, s, claims.SampleOptions{Seed: 1})
	require.NoError(t, err)

	// Claims the processor assigns: POL-0001 covers them, and has since
	// before their incident (the sample's policies run around today).
	sub := streams.Submission{CustomerID: "CUST-0001", PolicyID: "POL-0001", Amount: 2500, ClaimType: "auto",
		Description: "rear-ended at a light"}
	sub.IncidentDate = time.Now().AddDate(0, 0, -1).Format(time.DateOnly)
	_, c, err := s.Submit(ctx, sub, streams.EmitOptions{})
	require.NoError(t, err)
	var bulk []streams.NewClaim
	for range 24 {
		bulk = append(bulk, sub.NewClaim())
	}
	res, err := s.SubmitMany(ctx, bulk, streams.BulkOptions{})
	require.NoError(t, err)
	forged, err := s.Client().XAdd(ctx, &redis.XAddArgs{Stream: s.Keys().ForClaim(c.ID).Events(), Values: []any{"note", "by hand"}}).Result()
	require.NoError(t, err)

	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, name := range workers.Names {
		h, err := workers.New(s, name)
		require.NoError(t, err)
		wg.Go(func() {
			assert.NoError(t, workers.Run(wctx, s, h, workers.Options{Consumer: "w1", Block: 20 * time.Millisecond}))
		})
	}
	defer func() { stop(); wg.Wait() }()
	caughtUp := func() bool {
		st, err := s.State(ctx)
		if err != nil {
			return false
		}
		for _, group := range []string{streams.GroupProcessors, streams.GroupAnalytics, streams.GroupNotifications, streams.GroupAudit} {
			if g := st.Events().Group(group); g == nil || g.Pending > 0 || g.Lag > 0 {
				return false
			}
		}
		return true
	}
	streamstest.WaitFor(t, "every claim decided", caughtUp)
	// The processor projects what follows its decision.
	_, _, err = s.Emit(ctx, res.ClaimIDs[0], claims.DocumentUploaded, map[string]any{"document_type": "photo", "filename": "a.jpg"}, streams.EmitOptions{})
	require.NoError(t, err)
	streamstest.WaitFor(t, "the upload handled", caughtUp)
	dlq, err := workers.DLQ(ctx, s)
	require.NoError(t, err)
	require.Len(t, dlq, len(workers.Names), "the forged entry dead-lettered by every group")
	for _, dl := range dlq {
		assert.Equal(t, forged, dl.SourceID)
	}

	// A dead letter of an event the store wrote goes back to its group,
	// on the retry stream of the claim's partition (the same slot).
	ds, err := s.Consume(ctx, "by-hand", "c1", streams.ConsumeOptions{Count: 1})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, ds[0].Err)
	require.NoError(t, workers.ToDLQ(ctx, s, "by-hand", ds[0], errors.New("tried by hand"), 1))
	dlq, err = workers.DLQ(ctx, s)
	require.NoError(t, err)
	i := slices.IndexFunc(dlq, func(dl workers.DeadLetter) bool { return dl.Group == "by-hand" })
	require.GreaterOrEqual(t, i, 0)
	n, err := workers.RetryDLQ(ctx, s, dlq[i].ID)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	retry := s.Keys().ForClaim(ds[0].Event.ClaimID).Retry("by-hand")
	handedBack, err := s.Client().XRange(ctx, retry, "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, handedBack, 1, "in %s", retry)
	assert.Equal(t, ds[0].ID, handedBack[0].Values["retry_of"])

	rebuilt, err := upkeep.Rebuild(ctx, s)
	require.NoError(t, err)
	assert.Equal(t, upkeep.RebuildResult{Claims: 25, Events: 51, Malformed: 1}, rebuilt,
		"25 claims: submitted, decided, one upload; the forged entry")

	gone, err := workers.DeleteIdleConsumers(ctx, s, "by-hand", workers.ForgetOptions{Idle: time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, []string{"c1"}, gone.Deleted, "kept: %v", gone.Kept)

	var want []string
	files, err := scripts.Files.ReadDir("ops")
	require.NoError(t, err)
	for _, f := range files {
		want = append(want, strings.TrimSuffix(f.Name(), ".lua"))
	}
	ranScripts, ops := log.ran()
	assert.Equal(t, want, ops, "every operation of scripts/ops ran on the cluster")
	assert.Equal(t, []string{"append.lua", "batch.lua", "forget_consumer.lua"}, ranScripts, "every script ran on the cluster")
	top, err := scripts.Files.ReadDir(".")
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
