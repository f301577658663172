package streams

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"claimsctl/streams/redisconn"
	"claimsctl/streams/scripts"

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
	var effects []scripts.Effect
	for i := range 500 {
		id := fmt.Sprintf("claim-%d", i)
		pk := k.ForClaim(id)
		fields := []any{"version", strconv.Itoa(i%3 + 1)}
		effects = append(effects,
			scripts.ProjectCall{ReadModel: pk.ReadModel(id), AdjusterLoad: pk.AdjusterLoad(), Version: 1, Allowed: "|submitted|", Fields: fields}.Effect(),
			scripts.CountCall{Stats: pk.Stats(), StatsClaims: pk.StatsClaims(), ClaimID: id, Version: 1}.Effect(),
			scripts.NotifyCall{Notifications: pk.Notifications(), Seen: pk.NotifySeen(), ClaimID: id, Version: 1, Fields: fields}.Effect(),
			scripts.AuditCall{Trail: pk.Audit(id), Version: 1, Line: `{"version":1}`}.Effect(),
		)
		if i%50 == 0 {
			effects = append(effects,
				scripts.DeadLetterCall{Source: pk.Events(), DLQ: pk.DLQ(), Group: GroupAudit, ID: "1-0", Fields: fields}.Effect(),
				scripts.RetryCall{DLQ: pk.DLQ(), Retry: pk.Retry(GroupAudit), Aggregate: pk.Aggregate(id), Version: 1, Original: "1-0", Letter: "2-0", Group: GroupAudit, Fields: fields}.Effect(),
				scripts.DecideCall{Stream: pk.Events(), Aggregate: pk.Aggregate(id), ReadModel: pk.ReadModel(id), AdjusterLoad: pk.AdjusterLoad(), ClaimID: id, EventID: "e"}.Effect(),
				scripts.RebuildCall{Aggregate: pk.Aggregate(id), Version: 1}.Effect(),
			)
		}
	}
	slotOf := func(e scripts.Effect) int { return Slot(e.Keys[0]) }
	for _, e := range effects {
		for _, key := range e.Keys {
			require.Equal(t, slotOf(e), Slot(key), "precondition: an effect keeps to its claim's slot: %s", key)
		}
	}

	calls := scripts.Pack(effects, slotOf)
	slots := map[int]bool{}
	last := map[int]int{} // slot -> the last effect index packed for it
	packed := 0
	for n, c := range calls {
		slot := Slot(c.Keys[0])
		slots[slot] = true
		for _, key := range c.Keys {
			require.Equal(t, slot, Slot(key), "call %d mixes slots: %s", n, key)
		}
		assert.LessOrEqual(t, len(c.Items), scripts.MaxItems, "call %d", n)
		assert.LessOrEqual(t, len(c.Args), scripts.MaxArgs, "call %d", n)
		decoded := decodeBatchCall(t, c)
		require.Len(t, decoded, len(c.Items), "call %d", n)
		for j, i := range c.Items {
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

	one := scripts.Pack(effects[:40], nil)
	require.Len(t, one, 1, "without a slot function (one server) a small batch is one call")
	assert.Greater(t, len(slices.Compact(slices.Sorted(func(yield func(int) bool) {
		for _, key := range one[0].Keys {
			if !yield(Slot(key)) {
				return
			}
		}
	}))), 1, "and mixes slots, as one server allows")
}

// decodeBatchCall reads a batch.lua call as the script does: ARGV[1] n,
// then per operation its name, q and q indexes into KEYS, r and r args.
func decodeBatchCall(t *testing.T, c scripts.Call) []scripts.Effect {
	t.Helper()
	num := func(v any) int {
		n, err := strconv.Atoi(fmt.Sprint(v))
		require.NoError(t, err, "not a count: %v", v)
		return n
	}
	var out []scripts.Effect
	at := 1
	for range num(c.Args[0]) {
		e := scripts.Effect{Op: c.Args[at].(string)}
		q := num(c.Args[at+1])
		for j := range q {
			e.Keys = append(e.Keys, c.Keys[num(c.Args[at+2+j])-1])
		}
		r := num(c.Args[at+2+q])
		from := at + 3 + q
		e.Args = slices.Clone(c.Args[from : from+r])
		if r == 0 {
			e.Args = nil
		}
		out = append(out, e)
		at = from + r
	}
	require.Equal(t, len(c.Args), at, "every argument read")
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
	var effects []scripts.Effect
	for p := range 2 {
		id := claimIDsIn(s, p, 1)[0]
		effects = append(effects, scripts.AuditCall{Trail: s.Keys().Audit(id), Version: 1, Line: `{"version":1,"detail":"by hand"}`}.Effect())
	}
	require.NotEqual(t, Slot(effects[0].Keys[0]), Slot(effects[1].Keys[0]), "precondition: two slots")

	mixed := scripts.Pack(effects, nil)
	require.Len(t, mixed, 1)
	_, err := evalSha(ctx, s, scripts.Batch, mixed[0].Keys, mixed[0].Args...)
	require.Error(t, err)
	assert.Equal(t, redisconn.KindCrossSlot, redisconn.Classify(err), "got %v", err)
	require.Len(t, watch.Seen(), 1, "the watch noticed")
	assert.Contains(t, watch.Seen()[0], "evalsha "+scripts.Batch.Hash())

	replies, errs, err := s.RunAll(ctx, nil, effects)
	require.NoError(t, err)
	for i := range effects {
		require.NoError(t, errs[i])
		assert.Equal(t, "ok", replies[i].Status)
	}
	assert.Len(t, watch.Seen(), 1, "nothing else refused")
}
