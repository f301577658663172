package upkeep_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"
	"claimsctl/streams/upkeep"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// onBackends runs fn as a parallel subtest on redis-server and the
// embedded server, with a store connected as the CLI connects.
func onBackends(t *testing.T, fn func(t *testing.T, s *streams.Store)) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		fn(t, newStore(t, streams.Options{}))
	})
}

// dump reads every key under the store's prefix into comparable text.
func dump(t *testing.T, s *streams.Store) map[string]any {
	t.Helper()
	ctx := context.Background()
	rdb := s.Client()
	keys, err := rdb.Keys(ctx, s.Keys().Prefix+"*").Result()
	require.NoError(t, err)
	sort.Strings(keys)
	out := map[string]any{}
	for _, k := range keys {
		typ, err := rdb.Type(ctx, k).Result()
		require.NoError(t, err)
		switch typ {
		case "hash":
			out[k], err = rdb.HGetAll(ctx, k).Result()
		case "set":
			var m []string
			m, err = rdb.SMembers(ctx, k).Result()
			sort.Strings(m)
			out[k] = m
		case "zset":
			out[k], err = rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		default:
			t.Fatalf("unexpected %s key %s", typ, k)
		}
		require.NoError(t, err)
	}
	return out
}

func TestLoadSampleData(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		res, err := upkeep.LoadSampleData(ctx, s, claims.SampleOptions{Customers: 4, Policies: 12, Seed: 7})
		require.NoError(t, err)
		assert.Equal(t, []string{"CUST-0001", "CUST-0002", "CUST-0003", "CUST-0004"}, res.Customers)
		assert.Len(t, res.Policies, 12)
		assert.Equal(t, []string{"POL-0005", "POL-0010"}, res.Lapsed)
		assert.Equal(t, claims.DefaultAdjusters, res.Adjusters)

		first := dump(t, s)
		assert.Len(t, first, 4+12+2, "customers, policies, adjusters set and load")
		_, err = upkeep.LoadSampleData(ctx, s, claims.SampleOptions{Customers: 4, Policies: 12, Seed: 7})
		require.NoError(t, err)
		assert.Equal(t, first, dump(t, s), "loading twice writes the same keys and values")

		pol := first[s.Keys().Policy("POL-0001")].(map[string]string)
		assert.Equal(t, "auto", pol["type"])
		assert.Equal(t, "active", pol["status"])
		assert.Equal(t, "CUST-0001", pol["customer_id"])
		assert.Equal(t, "lapsed", first[s.Keys().Policy("POL-0005")].(map[string]string)["status"])
		assert.Equal(t, "CUST-0002", first[s.Keys().Policy("POL-0006")].(map[string]string)["customer_id"], "holders cycle over the customers")

		// The same seed under another prefix writes the same values; another
		// seed changes them but not the shape.
		same := streams.New(s.Client(), streams.Options{Prefix: "same:"})
		_, err = upkeep.LoadSampleData(ctx, same, claims.SampleOptions{Customers: 4, Policies: 12, Seed: 7})
		require.NoError(t, err)
		assert.Equal(t, pol, dump(t, same)[same.Keys().Policy("POL-0001")])
		other := streams.New(s.Client(), streams.Options{Prefix: "other:"})
		_, err = upkeep.LoadSampleData(ctx, other, claims.SampleOptions{Customers: 4, Policies: 12, Seed: 8})
		require.NoError(t, err)
		otherPol := dump(t, other)[other.Keys().Policy("POL-0001")].(map[string]string)
		assert.Equal(t, pol["type"], otherPol["type"])
		assert.NotEqual(t, pol, otherPol)
	})
}

// TestSampleDataIsDatedByTheStoresClock: policies are in force on the day
// they are loaded, lapsed ones ended before it, whatever that day is.
func TestSampleDataIsDatedByTheStoresClock(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		day := time.Date(2031, 2, 14, 15, 0, 0, 0, time.UTC)
		dated := streams.New(s.Client(), streams.Options{Prefix: "dated:", Now: func() time.Time { return day }})
		_, err := upkeep.LoadSampleData(ctx, dated, claims.SampleOptions{Seed: 1})
		require.NoError(t, err)
		keys := dump(t, dated)
		active := keys[dated.Keys().Policy("POL-0001")].(map[string]string)
		assert.Less(t, active["start_date"], "2031-02-14")
		assert.Greater(t, active["end_date"], "2031-02-14")
		lapsed := keys[dated.Keys().Policy("POL-0005")].(map[string]string)
		assert.Equal(t, "lapsed", lapsed["status"])
		assert.Less(t, lapsed["end_date"], "2031-02-14")
	})
}

// TestStoreNamesClaimsAndEventsByItsIDSource: with Options.NewID a run's
// claim ids and event uuids are the ones it chose, so a seeded lab run
// prints the same ids every time.
func TestStoreNamesClaimsAndEventsByItsIDSource(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		n := 0
		next := func() string {
			n++
			return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
		}
		seeded := streams.New(s.Client(), streams.Options{Prefix: "seeded:", NewID: next})
		sub := streams.Submission{CustomerID: "C", PolicyID: "P", Amount: 1, ClaimType: "auto", IncidentDate: "2026-01-01", Description: "d"}
		ev, claim, err := seeded.Submit(ctx, sub, streams.EmitOptions{})
		require.NoError(t, err)
		assert.Equal(t, "00000000-0000-4000-8000-000000000001", claim.ID)
		assert.Equal(t, "00000000-0000-4000-8000-000000000002", ev.EventID)
		res, err := seeded.SubmitMany(ctx, []streams.NewClaim{sub.NewClaim()}, streams.BulkOptions{})
		require.NoError(t, err)
		assert.Equal(t, []string{"00000000-0000-4000-8000-000000000003"}, res.ClaimIDs)
	})
}
