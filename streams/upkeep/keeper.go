package upkeep

import (
	"claimsctl/streams"

	"github.com/redis/go-redis/v9"
)

// keeper is the store upkeep works on, with its connection and key layout
// at hand.
type keeper struct {
	store *streams.Store
	rdb   redis.UniversalClient
	keys  streams.Keys
}

func keeperOf(store *streams.Store) keeper {
	return keeper{store: store, rdb: store.Client(), keys: store.Keys()}
}
