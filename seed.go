package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/upkeep"
)

// seedEnv is --seed's default.
const seedEnv = "CLAIMSCTL_SEED"

// registerSeed binds --seed to seed: at the root, and in the commands a
// seeded run is for (the REPL, run and -e).
func registerSeed(fs *flag.FlagSet, seed *string) {
	fs.StringVar(seed, "seed", *seed, "repeat the run: ids, times (a clock from\n"+
		claims.LabEpoch.Format("2006-01-02 15:04 MST")+"), sample data and entry ids come\n"+
		"from the seed `N`, and the workers started here take\n"+
		"turns, a batch at a time; needs a keyspace without\n"+
		"events (default "+seedEnv+")")
}

// seeded is the run's seed, ids and clock from --seed or CLAIMSCTL_SEED,
// or nil for an ordinary run.
func (b *base) seeded() (*claims.Seeded, error) {
	text, from := b.seed, "--seed"
	if text == "" {
		text, from = b.env.getenv(seedEnv), seedEnv
	}
	if text == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("%s must be a whole number, got %q", from, text), hint: "claimsctl --seed 7 run scripts/step05.lua"}
	}
	return claims.NewSeeded(n), nil
}

// checkSeeded refuses a seeded run on a keyspace that holds events, and
// says in the banner that the run is seeded.
func checkSeeded(ctx context.Context, store *streams.Store, banner io.Writer) error {
	seeded := store.Seeded()
	if seeded == nil {
		return nil
	}
	if err := upkeep.CheckFresh(ctx, store); err != nil {
		if errors.Is(err, upkeep.ErrNotFresh) {
			return &usageError{msg: fmt.Sprintf("--seed %d: %v", seeded.Seed(), err),
				hint: fmt.Sprintf("claimsctl --embedded --seed %d   (a fresh in-memory server), another --prefix, or redis-cli FLUSHDB", seeded.Seed())}
		}
		return err
	}
	fmt.Fprintf(banner, "seeded run (--seed %d): ids, times (from %s) and entry ids repeat on every run; workers started here take turns, a batch at a time\n",
		seeded.Seed(), claims.LabEpoch.Format("2006-01-02 15:04 MST"))
	return nil
}
