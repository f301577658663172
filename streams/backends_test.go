package streams

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"claimsctl/streams/claims"
	"claimsctl/streams/embedded"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/redistest"
	"claimsctl/streams/redistest/crossslot"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// testPrefix is the key prefix of every store under test: the layout must
// not depend on the lab's bare key names.
const testPrefix = "test:"

// sharedCluster is the package's Redis Cluster (3 masters), formed once.
var sharedCluster = redistest.NewSharedCluster(3, 0)

func TestMain(m *testing.M) {
	code := m.Run()
	sharedCluster.Stop()
	os.Exit(code)
}

// forEachBackend runs fn as three parallel subtests: "redis" on a real
// redis-server of its own, "embedded" on the in-process server, wired as
// Connect and main.go wire them (RESP2, CountLag on embedded), and
// "cluster" with 6 partitions on the package's Redis Cluster under a
// prefix of its own. Each redis and embedded subtest gets a fresh server,
// so no test sees another's keys or groups.
func forEachBackend(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	forEachBackendWith(t, Options{}, func(t *testing.T, s *Store, _ *fakeClock) { fn(t, s) })
}

// forEachBackendWith is forEachBackend with store options, and a fake
// clock per subtest (starting at storeT0) as the store's Now. Prefix
// defaults to testPrefix; CountLag is set for the embedded server.
func forEachBackendWith(t *testing.T, opts Options, fn func(t *testing.T, s *Store, clock *fakeClock)) {
	t.Helper()
	for _, b := range []struct {
		name  string
		store func(testing.TB, Options) *Store
	}{{"redis", newRedisStore}, {"embedded", newEmbeddedStore}, {"cluster", newClusterStore}} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock(storeT0)
			o := opts
			o.Now = clock.Now
			fn(t, b.store(t, o), clock)
		})
	}
}

// newRedisStore starts a redis-server for t and returns a store on it.
func newRedisStore(t testing.TB, opts Options) *Store {
	t.Helper()
	srv := redistest.Start(t)
	return newTestStore(t, srv.Addr(), opts)
}

// newEmbeddedStore starts an embedded server for t and returns a store on
// it; Connect recognises it and counts its lag, as for `claimsctl serve`.
func newEmbeddedStore(t testing.TB, opts Options) *Store {
	t.Helper()
	srv, err := embedded.Start(0)
	require.NoError(t, err, "start embedded server")
	t.Cleanup(srv.Close)
	s := newTestStore(t, srv.Addr(), opts)
	require.True(t, s.opts.CountLag, "Connect recognised the embedded server")
	return s
}

// clusterStores numbers the stores made on the package's cluster: with
// -count=N a test runs again on the same cluster, and must not find its
// first run's keys.
var clusterStores atomic.Int64

// newClusterStore is a store with 6 partitions (two per master) on the
// package's cluster, its keys under the test's name and a number of its
// own. A command the cluster refuses for spanning two slots fails the
// test, even one whose error the store handles (cluster_test.go).
func newClusterStore(t testing.TB, opts Options) *Store {
	t.Helper()
	s, watch := newWatchedClusterStore(t, opts)
	t.Cleanup(func() {
		if refused := watch.Seen(); len(refused) > 0 {
			t.Errorf("the cluster refused %d command(s) for spanning two slots (CROSSSLOT), the first: %s", len(refused), refused[0])
		}
	})
	return s
}

// newWatchedClusterStore is newClusterStore that leaves the CROSSSLOT
// watch to the caller.
func newWatchedClusterStore(t testing.TB, opts Options) (*Store, *crossslot.Watch) {
	t.Helper()
	c := sharedCluster.Get(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Seeds(), Protocol: 2})
	t.Cleanup(func() { _ = rdb.Close() })
	watch := crossslot.New(rdb)
	opts.Prefix = fmt.Sprintf("%s#%d:", t.Name(), clusterStores.Add(1))
	if opts.Partitions == 0 {
		opts.Partitions = 6
	}
	s, err := Open(context.Background(), rdb, opts)
	require.NoError(t, err)
	return s, watch
}

// newTestStore connects to addr as the CLI connects (Connect: RESP2, the
// embedded server recognised and its lag counted) and returns a store on
// it under opts.Prefix (default testPrefix).
func newTestStore(t testing.TB, addr string, opts Options) *Store {
	t.Helper()
	b, err := redisconn.Connect(context.Background(), redisconn.ConnectOptions{URL: "redis://" + addr})
	require.NoError(t, err, "connect to %s", addr)
	t.Cleanup(func() { _ = b.Close() })
	if opts.Prefix == "" {
		opts.Prefix = testPrefix
	}
	opts.CountLag = opts.CountLag || b.Miniredis
	return New(b.Client, opts)
}

// storeT0 is where the fake clock of every store test starts.
var storeT0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// fakeClock is a controllable Options.Now: events get the times a test
// chose, so temporal queries and reports have known answers.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(start time.Time) *fakeClock { return &fakeClock{now: start} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// testSubmission is a valid claim as a customer files it.
func testSubmission() Submission {
	return Submission{
		CustomerID: "CUST-0001", PolicyID: "POL-0001", Amount: 2500, ClaimType: "auto",
		IncidentDate: "2026-01-15", Description: "rear-ended at a light",
	}
}

// step is one command of a claim's lifecycle after its submission.
type lifecycleStep struct {
	Type claims.EventType
	Data map[string]any
}

// lifecycleSteps takes a submitted claim of amount 2500 to paid; pay and
// settle rely on Claim.Defaults for the payment's id and amount.
func lifecycleSteps() []lifecycleStep {
	return []lifecycleStep{
		{claims.ClaimAssigned, map[string]any{"adjuster": "ADJ-001"}},
		{claims.DocumentUploaded, map[string]any{"document_type": "photo", "filename": "bumper.jpg"}},
		{claims.ClaimInvestigated, map[string]any{"phase": "started"}},
		{claims.ClaimInvestigated, map[string]any{"phase": "completed", "findings": "damage matches the report", "fraud_risk": "low"}},
		{claims.ClaimApproved, map[string]any{"approved_amount": 2000.0}},
		{claims.PaymentInitiated, map[string]any{}},
		{claims.PaymentCompleted, map[string]any{}},
	}
}

// submitAndRun submits a claim and emits steps on it, failing t on error.
func submitAndRun(t testing.TB, s *Store, steps ...lifecycleStep) *claims.Claim {
	t.Helper()
	ctx := context.Background()
	_, c, err := s.Submit(ctx, testSubmission(), EmitOptions{})
	require.NoError(t, err, "submit")
	for _, st := range steps {
		_, c, err = s.Emit(ctx, c.ID, st.Type, st.Data, EmitOptions{})
		require.NoError(t, err, "emit %s", st.Type)
	}
	return c
}

// xlen is the length of the store's event streams (0 when missing).
func xlen(t testing.TB, s *Store) int64 {
	t.Helper()
	var total int64
	for _, stream := range s.Keys().EventStreams() {
		n, err := s.Client().XLen(context.Background(), stream).Result()
		require.NoError(t, err)
		total += n
	}
	return total
}

// With partitions, entry ids number each stream apart (two partitions
// often hold the same id) and order entries of different streams only by
// millisecond, so the suite names an entry by its stream and id (an
// EntryRef) and states orders as the store defines them over partitions.
// On one stream each of these is that stream's order.

// refsOf is where each delivery came from.
func refsOf(ds []Delivery) []EntryRef {
	var refs []EntryRef
	for _, d := range ds {
		refs = append(refs, d.Ref())
	}
	return refs
}

// entryOf is version v (1-based) of a claim: the entry the store wrote.
func entryOf(s *Store, c *claims.Claim, v int) EntryRef {
	return EntryRef{Stream: s.Keys().ForClaim(c.ID).Events(), ID: c.Entries[v-1]}
}

// inConsumeOrder is the order in which a consume hands entries out: the
// partitions in turn, each in id order.
func inConsumeOrder(s *Store, refs []EntryRef) []EntryRef {
	return sortedRefs(s, refs, func(a, b EntryRef, pa, pb int) int {
		return cmp.Or(cmp.Compare(pa, pb), claims.CompareIDs(a.ID, b.ID))
	})
}

// inReplayOrder is the order of a replay: the partitions merged by entry
// id, a tie going to the lower partition.
func inReplayOrder(s *Store, refs []EntryRef) []EntryRef {
	return sortedRefs(s, refs, func(a, b EntryRef, pa, pb int) int {
		return cmp.Or(claims.CompareIDs(a.ID, b.ID), cmp.Compare(pa, pb))
	})
}

func sortedRefs(s *Store, refs []EntryRef, compare func(a, b EntryRef, pa, pb int) int) []EntryRef {
	streams := s.Keys().EventStreams()
	out := slices.Clone(refs)
	slices.SortStableFunc(out, func(a, b EntryRef) int {
		return compare(a, b, slices.Index(streams, a.Stream), slices.Index(streams, b.Stream))
	})
	return out
}

// idSpan is the lowest and the highest id of refs: the first and last id
// the state view gives for the event streams together.
func idSpan(refs []EntryRef) (first, last string) {
	for _, r := range refs {
		if first == "" || claims.CompareIDs(r.ID, first) < 0 {
			first = r.ID
		}
		if last == "" || claims.CompareIDs(r.ID, last) > 0 {
			last = r.ID
		}
	}
	return first, last
}

// claimIDsIn are n new claim ids whose events go to partition p: for a
// test whose figures need its claims in one stream.
func claimIDsIn(s *Store, p, n int) []string {
	var ids []string
	for len(ids) < n {
		if id := uuid.NewString(); s.Keys().PartitionOf(id) == p {
			ids = append(ids, id)
		}
	}
	return ids
}

// validPayloads is one valid payload per event type.
func validPayloads() map[claims.EventType]map[string]any {
	return map[claims.EventType]map[string]any{
		claims.ClaimSubmitted: {
			"customer_id": "CUST-0001", "policy_id": "POL-0001", "amount": 2500.0,
			"claim_type": "auto", "incident_date": "2026-11-20", "description": "rear-ended at a light",
		},
		claims.ClaimAssigned:     {"adjuster": "ADJ-001", "note": "least loaded"},
		claims.DocumentUploaded:  {"document_type": "photo", "filename": "bumper.jpg", "note": "front"},
		claims.ClaimInvestigated: {"phase": "completed", "findings": "damage matches", "fraud_risk": "low"},
		claims.ClaimApproved:     {"approved_amount": 2000.0, "note": "depreciation"},
		claims.ClaimRejected:     {"reason": "policy POL-9 not found", "code": "policy_not_found"},
		claims.PaymentInitiated:  {"payment_id": "PAY-1", "amount": 2000.0, "method": "bank_transfer"},
		claims.PaymentCompleted:  {"payment_id": "PAY-1", "amount": 2000.0},
	}
}

func withField(data map[string]any, kv ...any) map[string]any {
	out := maps.Clone(data)
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// waitForCondition polls cond until it holds or 10s pass: tests wait on
// conditions, never on fixed sleeps.
func waitForCondition(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
