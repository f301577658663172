package classroom

import (
	"context"
	"errors"
	"fmt"

	"claimsctl/streams"
	"claimsctl/streams/redisconn"

	"github.com/redis/go-redis/v9"
)

// Which keys a Redis user works under, asked of the server when the CLI
// connects as that user.

// ErrNoKeys is a Redis user whose ACL allows neither the lab's keys nor
// those under the prefix asked about.
var ErrNoKeys = errors.New("its ACL allows none of the lab's keys")

// ACLPrefix is the key prefix a Redis user works under when none is given:
// "" if its ACL lets it touch the lab's own keys (claims:meta), else own if
// it lets it touch those under own (a student of `claimsctl class add`,
// whose keys are NAME:*). It asks with EXISTS, which reads no data.
func ACLPrefix(ctx context.Context, rdb redis.UniversalClient, user, own string) (string, error) {
	allowed := func(prefix string) (bool, error) {
		err := rdb.Exists(ctx, streams.NewKeys(prefix, nil).Meta()).Err()
		if err != nil && redisconn.ReplyCode(err) == "NOPERM" {
			return false, nil
		}
		return err == nil, err
	}
	for _, prefix := range []string{"", own} {
		ok, err := allowed(prefix)
		if err != nil {
			return "", fmt.Errorf("which keys may Redis user %s touch: %w", user, err)
		}
		if ok {
			return prefix, nil
		}
	}
	return "", fmt.Errorf("the Redis user %s: %w (claims:…) nor those under %s: give --prefix with a prefix its ACL allows", user, ErrNoKeys, own)
}
