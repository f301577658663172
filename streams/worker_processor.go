package streams

import (
	"context"
	"errors"
	"fmt"

	"claimsctl/streams/claims"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// processorNamespace derives the processor's event ids from the events it
// reacts to, so that a redelivered claim.submitted can never be decided
// twice: the second append finds the first one's event_id.
var processorNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("claimsctl:processor"))

// Processor is the processors group's worker: it keeps the read model
// (claim:<id>, CQRS) and drives the process — on claim.submitted it checks
// the policy and either assigns the least-loaded adjuster or rejects the
// claim, by appending the next event.
type Processor struct{ s *Store }

// NewProcessor returns the processor worker's handler.
func (s *Store) NewProcessor() *Processor { return &Processor{s: s} }

// Name is the group: processors.
func (p *Processor) Name() string { return GroupProcessors }

// Label names the worker in the log.
func (p *Processor) Label() string { return "processor" }

// Handle projects the event and, for a new claim, decides it.
func (p *Processor) Handle(ctx context.Context, d Delivery) (string, error) {
	e := d.Event
	applied, stored, err := p.s.project(ctx, e)
	if err != nil {
		return "", err
	}
	if e.Type != claims.ClaimSubmitted {
		if !applied {
			return fmt.Sprintf("nothing to do: the read model is already at v%d", stored), nil
		}
		return fmt.Sprintf("%s; read model at v%d", claims.DescribeEvent(e), e.Version), nil
	}
	// A redelivered claim.submitted still gets a decision if the claim has
	// none yet: the first delivery may have died between projecting and
	// deciding.
	if !applied && stored > 1 {
		return fmt.Sprintf("already decided (read model at v%d)", stored), nil
	}
	return p.decide(ctx, e)
}

// decide appends claim.assigned or claim.rejected after claim.submitted.
func (p *Processor) decide(ctx context.Context, e claims.Event) (string, error) {
	// The policy and the adjusters' workload in one round trip.
	policyID := e.String("policy_id")
	pipe := p.s.rdb.Pipeline()
	policy := pipe.HGetAll(ctx, p.s.keys.Policy(policyID))
	members := pipe.SMembers(ctx, p.s.keys.Adjusters())
	loads := pipe.ZRangeWithScores(ctx, p.s.keys.AdjusterLoad(), 0, -1)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("read policy %s and adjuster workload: %w", policyID, err)
	}
	var (
		t       claims.EventType
		data    map[string]any
		summary string
	)
	if code, reason := claims.CheckPolicy(policyID, policy.Val(), e); code != "" {
		t, data = claims.ClaimRejected, map[string]any{"code": code, "reason": reason}
		summary = fmt.Sprintf("rejected: %s (%s)", code, reason)
	} else {
		load := map[string]int64{}
		for _, z := range loads.Val() {
			name, _ := z.Member.(string)
			load[name] = int64(z.Score)
		}
		adjuster, open := claims.LeastLoaded(members.Val(), load)
		t = claims.ClaimAssigned
		data = map[string]any{"adjuster": adjuster, "note": fmt.Sprintf("least-loaded adjuster (%d open claims)", open)}
		summary = "assigned to " + adjuster
	}
	expected := int64(1)
	ev, _, err := p.s.Emit(ctx, e.ClaimID, t, data, EmitOptions{
		ExpectedVersion: &expected,
		Actor:           "processor",
		EventID:         uuid.NewSHA1(processorNamespace, []byte("decide:"+e.EventID)).String(),
	})
	var conflict *claims.ConflictError
	switch {
	case errors.As(err, &conflict) && conflict.Actual > conflict.Expected:
		return fmt.Sprintf("already decided (claim at v%d)", conflict.Actual), nil
	case errors.As(err, &conflict):
		return "", Permanent(fmt.Errorf("claim %s is at v%d in the event store, so this claim.submitted was not written by claimsctl: %w", claims.Short(e.ClaimID), conflict.Actual, err))
	case errors.Is(err, claims.ErrInvalid), errors.Is(err, claims.ErrInvalidTransition):
		return "", Permanent(err)
	case err != nil:
		return "", err
	}
	// Project the new event now rather than when it comes round in the
	// stream, so the adjuster load counts it before the next claim of this
	// batch is decided. The stream's copy is then skipped as already
	// applied. What is projected is the stored entry, not ev: if a racing
	// consumer appended first, ev holds our data under its entry id.
	if msgs, err := p.s.rdb.XRange(ctx, p.s.keys.Events(), ev.ID, ev.ID).Result(); err == nil && len(msgs) == 1 {
		if stored, err := claims.DecodeEvent(msgs[0].ID, msgs[0].Values); err == nil {
			_, _, _ = p.s.project(ctx, stored) // on failure the stream's copy projects it
		}
	}
	return summary, nil
}
