package streams

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"claimsctl/streams/claims"

	"github.com/redis/go-redis/v9"
)

// projectScript applies one event to a claim's read model (claim:<id>) if
// and only if it is the next one: the version check and the writes are one
// atomic step, so a redelivered event is skipped and two consumers of one
// group cannot apply a claim's events out of order. The adjuster workload
// moves in the same step, hence exactly once per assignment.
//
// KEYS[1] read model hash, KEYS[2] adjuster load zset
// ARGV[1] version, ARGV[2] statuses the event may follow ("|a|b|", "" is
// a new claim), ARGV[3] op (assign | final | document | ""), ARGV[4]
// adjuster, ARGV[5..] field/value pairs.
// Reply: {'ok'|'skip'|'gap'|'invalid', stored version or status}.
var projectScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local v = tonumber(ARGV[1])
if v <= cur then return {'skip', tostring(cur)} end
if v > cur + 1 then return {'gap', tostring(cur)} end
local status = redis.call('HGET', KEYS[1], 'status') or ''
if not string.find(ARGV[2], '|' .. status .. '|', 1, true) then return {'invalid', status} end
local prev = redis.call('HGET', KEYS[1], 'adjuster') or ''
if ARGV[3] == 'assign' then
  if prev ~= ARGV[4] then
    if prev ~= '' then redis.call('ZINCRBY', KEYS[2], -1, prev) end
    redis.call('ZINCRBY', KEYS[2], 1, ARGV[4])
  end
elseif ARGV[3] == 'final' then
  if prev ~= '' then redis.call('ZINCRBY', KEYS[2], -1, prev) end
elseif ARGV[3] == 'document' then
  redis.call('HINCRBY', KEYS[1], 'documents', 1)
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
return {'ok', tostring(v)}
`)

// project applies e to the read model. It reports whether it did (false:
// already applied) and the version the read model held before.
func (s *Store) project(ctx context.Context, e claims.Event) (applied bool, stored int64, err error) {
	allowed, op, adjuster, fields := claims.ReadModelUpdate(e)
	args := append([]any{e.Version, allowed, op, adjuster}, fields...)
	keys := []string{s.keys.ReadModel(e.ClaimID), s.keys.AdjusterLoad()}
	reply, err := projectScript.Run(ctx, s.rdb, keys, args...).StringSlice()
	if err != nil {
		return false, 0, fmt.Errorf("project %s v%d of %s: %w", e.Type, e.Version, claims.Short(e.ClaimID), err)
	}
	if len(reply) != 2 {
		return false, 0, fmt.Errorf("project %s: unexpected script reply %v", e.ID, reply)
	}
	switch reply[0] {
	case "ok":
		return true, e.Version - 1, nil
	case "skip":
		stored, _ = strconv.ParseInt(reply[1], 10, 64)
		return false, stored, nil
	case "gap":
		stored, _ = strconv.ParseInt(reply[1], 10, 64)
		return false, stored, fmt.Errorf("project %s v%d of %s: the read model is at v%d: %w", e.Type, e.Version, claims.Short(e.ClaimID), stored, claims.ErrOutOfOrder)
	case "invalid":
		return false, e.Version - 1, Permanent(fmt.Errorf("project %s v%d of %s: the read model says the claim is %s: %w",
			e.Type, e.Version, claims.Short(e.ClaimID), claims.Status(reply[1]), &claims.TransitionError{ClaimID: e.ClaimID, From: claims.Status(reply[1]), Event: e.Type, Need: claims.NeedWords(claims.AllowedStatuses(e.Type, e.Data))}))
	}
	return false, 0, fmt.Errorf("project %s: unexpected script reply %v", e.ID, reply)
}

// ClaimView reads a claim's read model, the processor's projection
// (claim:<id>), or ErrNotFound if the processor has not seen the claim.
func (s *Store) ClaimView(ctx context.Context, claimID string) (map[string]string, error) {
	fields, err := s.rdb.HGetAll(ctx, s.keys.ReadModel(claimID)).Result()
	if err != nil {
		return nil, fmt.Errorf("read model of %s: %w", claimID, err)
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("read model of %s: %w", claimID, claims.ErrNotFound)
	}
	return fields, nil
}

// AdjusterLoads reads the processor's adjuster workload: open claims per
// adjuster.
func (s *Store) AdjusterLoads(ctx context.Context) (map[string]int64, error) {
	zs, err := s.rdb.ZRangeWithScores(ctx, s.keys.AdjusterLoad(), 0, -1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("adjuster load: %w", err)
	}
	out := make(map[string]int64, len(zs))
	for _, z := range zs {
		name, _ := z.Member.(string)
		out[name] = int64(z.Score)
	}
	return out, nil
}

// ReadModelResult says what RebuildReadModel did.
type ReadModelResult struct {
	Deleted int // read-model hashes (claim:<id>) removed first
	Events  int // events projected again
	Claims  int // read-model hashes written
	Gaps    int // events skipped because the claim's earlier events are gone (trimmed)
}

// RebuildReadModel throws the processor's projection away (the claim:<id>
// hashes and the adjusters' load) and projects every event of
// claims:events again: the CQRS read side is disposable, the events are
// the truth. Stop the processor first; it would race with the rebuild.
func (s *Store) RebuildReadModel(ctx context.Context) (ReadModelResult, error) {
	var res ReadModelResult
	views, err := s.ScanKeys(ctx, strings.TrimPrefix(s.keys.ReadModel("*"), s.keys.Prefix))
	if err != nil {
		return res, fmt.Errorf("rebuild read model: %w", err)
	}
	stale := []string{s.keys.AdjusterLoad()}
	for _, k := range views {
		stale = append(stale, s.keys.Prefix+k)
	}
	for len(stale) > 0 {
		n := min(len(stale), 500)
		if err := s.rdb.Del(ctx, stale[:n]...).Err(); err != nil {
			return res, fmt.Errorf("rebuild read model: %w", err)
		}
		stale = stale[n:]
	}
	res.Deleted = len(views)
	seen := map[string]bool{}
	err = s.Replay(ctx, ReplayOptions{}, func(d Delivery) error {
		if d.Err != nil {
			return nil
		}
		applied, _, err := s.project(ctx, d.Event)
		switch {
		case errors.Is(err, claims.ErrOutOfOrder):
			res.Gaps++
			return nil
		case err != nil:
			return err
		case applied:
			res.Events++
			if !seen[d.Event.ClaimID] {
				seen[d.Event.ClaimID] = true
				res.Claims++
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("rebuild read model: %w", err)
	}
	return res, nil
}
