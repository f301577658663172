package streams

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

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
	if e.Type != ClaimSubmitted {
		if !applied {
			return fmt.Sprintf("nothing to do: the read model is already at v%d", stored), nil
		}
		return fmt.Sprintf("%s; read model at v%d", describeEvent(e), e.Version), nil
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
func (p *Processor) decide(ctx context.Context, e Event) (string, error) {
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
		t       EventType
		data    map[string]any
		summary string
	)
	if code, reason := checkPolicy(policyID, policy.Val(), e); code != "" {
		t, data = ClaimRejected, map[string]any{"code": code, "reason": reason}
		summary = fmt.Sprintf("rejected: %s (%s)", code, reason)
	} else {
		adjuster, open := leastLoaded(members.Val(), loads.Val())
		t = ClaimAssigned
		data = map[string]any{"adjuster": adjuster, "note": fmt.Sprintf("least-loaded adjuster (%d open claims)", open)}
		summary = "assigned to " + adjuster
	}
	expected := int64(1)
	ev, _, err := p.s.Emit(ctx, e.ClaimID, t, data, EmitOptions{
		ExpectedVersion: &expected,
		Actor:           "processor",
		EventID:         uuid.NewSHA1(processorNamespace, []byte("decide:"+e.EventID)).String(),
	})
	var conflict *ConflictError
	switch {
	case errors.As(err, &conflict) && conflict.Actual > conflict.Expected:
		return fmt.Sprintf("already decided (claim at v%d)", conflict.Actual), nil
	case errors.As(err, &conflict):
		return "", Permanent(fmt.Errorf("claim %s is at v%d in the event store, so this claim.submitted was not written by claimsctl: %w", short(e.ClaimID), conflict.Actual, err))
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrInvalidTransition):
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
		if stored, err := DecodeEvent(msgs[0].ID, msgs[0].Values); err == nil {
			_, _, _ = p.s.project(ctx, stored) // on failure the stream's copy projects it
		}
	}
	return summary, nil
}

// checkPolicy says why a claim must be rejected (code "" if it must not):
// the policy exists, is active, covers the amount and the claim's type.
func checkPolicy(id string, pol map[string]string, e Event) (code, reason string) {
	if len(pol) == 0 {
		return "policy_not_found", fmt.Sprintf("policy %s does not exist", id)
	}
	if st := pol["status"]; st != "active" {
		if st == "" {
			st = "not active"
		}
		return "policy_inactive", fmt.Sprintf("policy %s is %s", id, st)
	}
	amount := e.Number("amount")
	if limit, err := strconv.ParseFloat(pol["coverage_limit"], 64); err == nil && amount > limit {
		return "exceeds_coverage", fmt.Sprintf("amount %s exceeds the coverage limit %s of policy %s", formatAmount(amount), formatAmount(limit), id)
	}
	if typ, claimType := pol["type"], e.String("claim_type"); typ != "" && typ != claimType {
		return "not_covered", fmt.Sprintf("policy %s covers %s claims, not %s", id, typ, claimType)
	}
	return "", ""
}

// leastLoaded picks the adjuster with the fewest open claims (ties: the
// smallest id) among members, or DefaultAdjusters if there are none.
func leastLoaded(members []string, loads []redis.Z) (string, int64) {
	if len(members) == 0 {
		members = DefaultAdjusters
	}
	load := map[string]int64{}
	for _, z := range loads {
		name, _ := z.Member.(string)
		load[name] = int64(z.Score)
	}
	sorted := append([]string(nil), members...)
	sort.Strings(sorted)
	best := sorted[0]
	for _, a := range sorted[1:] {
		if load[a] < load[best] {
			best = a
		}
	}
	return best, load[best]
}

// describeEvent says in a few words what an event did, for logs, the
// audit trail and notifications.
func describeEvent(e Event) string {
	switch e.Type {
	case ClaimSubmitted:
		return fmt.Sprintf("submitted: %s %s claim on %s by %s", formatAmount(e.Number("amount")), e.String("claim_type"), e.String("policy_id"), e.String("customer_id"))
	case ClaimAssigned:
		return "assigned to " + e.String("adjuster")
	case DocumentUploaded:
		return fmt.Sprintf("document %s (%s)", e.String("filename"), e.String("document_type"))
	case ClaimInvestigated:
		if e.String("phase") == "started" {
			return "investigation started"
		}
		return "investigation completed"
	case ClaimApproved:
		return "approved " + formatAmount(e.Number("approved_amount"))
	case ClaimRejected:
		if c := e.String("code"); c != "" {
			return fmt.Sprintf("rejected: %s (%s)", c, e.String("reason"))
		}
		return "rejected: " + e.String("reason")
	case PaymentInitiated:
		return fmt.Sprintf("payment %s of %s initiated", e.String("payment_id"), formatAmount(e.Number("amount")))
	case PaymentCompleted:
		return fmt.Sprintf("paid %s (%s)", formatAmount(e.Number("amount")), e.String("payment_id"))
	}
	return string(e.Type)
}
