package upkeep

import (
	"context"
	"fmt"

	"claimsctl/streams"
	"claimsctl/streams/claims"

	"github.com/redis/go-redis/v9"
)

// SampleResult says what LoadSampleData wrote.
type SampleResult struct {
	Customers []string // customer ids, in order
	Policies  []string // policy ids, in order
	Lapsed    []string // the policies whose status is lapsed
	Adjusters []string
}

// LoadSampleData writes customers, policies and the adjusters set, as the
// lab's load-sample-data.js does. The same options always write the same
// keys with the same values on the same day (each hash is replaced whole),
// so running it twice is harmless. Dates are relative to today (the
// store's clock): policies are valid now, lapsed ones ended long ago. What
// students can rely on whatever the seed:
//   - policy n covers ClaimTypes[(n-1) % 7]: POL-0001 is auto, POL-0002 home …
//   - policy n belongs to customer ((n-1) % Customers) + 1;
//   - every fifth policy (POL-0005, POL-0010 …) is lapsed, all others active;
//   - an active policy started at least 120 days ago and ends at least 35
//     days from now;
//   - POL-0001 covers at least 25000.
//
// The seed varies names, coverage limits, deductibles and premiums.
func LoadSampleData(ctx context.Context, store *streams.Store, o claims.SampleOptions) (SampleResult, error) {
	s := keeperOf(store)
	set := claims.GenerateSample(o, store.Now())
	pipe := s.rdb.Pipeline()
	for _, c := range set.Customers {
		key := s.keys.Customer(c.ID)
		pipe.Del(ctx, key)
		pipe.HSet(ctx, key, c.Fields)
	}
	for _, p := range set.Policies {
		key := s.keys.Policy(p.ID)
		pipe.Del(ctx, key)
		pipe.HSet(ctx, key, p.Fields)
	}
	pipe.Del(ctx, s.keys.Adjusters())
	members := make([]any, len(claims.DefaultAdjusters))
	zs := make([]redis.Z, len(claims.DefaultAdjusters))
	for i, a := range claims.DefaultAdjusters {
		members[i] = a
		zs[i] = redis.Z{Member: a}
	}
	pipe.SAdd(ctx, s.keys.Adjusters(), members...)
	// NX: a reload must not reset the workload of claims already assigned.
	for _, pk := range s.keys.All() {
		pipe.ZAddNX(ctx, pk.AdjusterLoad(), zs...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return SampleResult{}, fmt.Errorf("load sample data: %w", err)
	}
	return SampleResult{Customers: claims.RecordIDs(set.Customers), Policies: claims.RecordIDs(set.Policies), Lapsed: set.Lapsed, Adjusters: append([]string(nil), claims.DefaultAdjusters...)}, nil
}
