package workers

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/scripts"
)

// processorNamespace derives the processor's event ids from the events it
// reacts to, so that a redelivered claim.submitted can never be decided
// twice: the second append finds the first one's event_id.
var processorNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("claimsctl:processor"))

// processorActor is the actor of the events the processor appends.
const processorActor = "processor"

// Processor is the processors group's worker: it keeps the read model
// (claim:<id>, CQRS) and drives the process — on claim.submitted it checks
// the policy and either assigns the least-loaded adjuster or rejects the
// claim, by appending the next event.
type Processor struct{ s *streams.Store }

// NewProcessor returns the processor worker's handler.
func NewProcessor(s *streams.Store) *Processor { return &Processor{s: s} }

// Group is processors.
func (p *Processor) Group() string { return streams.GroupProcessors }

// Label names the worker in the log.
func (p *Processor) Label() string { return "processor" }

// Needs: each claim's read model, the policies of new claims, the
// adjusters and their workload. What lives outside the batch's partition
// (the adjusters, the policies, the other partitions' workload) may be
// the last value read while its master fails over, so that a partition
// on a healthy master goes on deciding; the workload only balances the
// assignments, and a policy or the adjuster list changes seldom.
func (p *Processor) Needs(batch []streams.Delivery) []streams.Read {
	k := p.s.Keys()
	own := -1
	for _, d := range batch {
		if d.Err == nil && len(d.Fields) > 0 {
			own = k.PartitionOf(d.Event.ClaimID)
			break
		}
	}
	reads := []streams.Read{streams.MembersRead(k.Adjusters()).OrLastKnown()}
	// Every partition's workload: an adjuster's open claims are the sum.
	for p, pk := range k.All() {
		r := streams.ScoresRead(pk.AdjusterLoad())
		if p != own {
			r = r.OrLastKnown()
		}
		reads = append(reads, r)
	}
	seen := map[string]bool{}
	add := func(r streams.Read) {
		if !seen[r.Key] {
			seen[r.Key] = true
			reads = append(reads, r)
		}
	}
	for _, d := range batch {
		if d.Err != nil || len(d.Fields) == 0 {
			continue
		}
		add(streams.HashRead(k.ReadModel(d.Event.ClaimID)))
		if d.Event.Type == claims.ClaimSubmitted {
			add(streams.HashRead(k.Policy(d.Event.String("policy_id"))).OrLastKnown())
		}
	}
	return reads
}

// claimView is the part of a claim's read model the processor decides on,
// kept up to date in memory as the batch is decided.
type claimView struct {
	version  int64
	status   claims.Status
	adjuster string
}

// batchState is what deciding a batch in order knows: the read models as
// the batch's earlier effects leave them, and the adjusters' workload as
// its earlier assignments leave it. Deciding a batch therefore chooses
// exactly what deciding its events one at a time would.
type batchState struct {
	views   map[string]*claimView
	load    map[string]int64
	members []string
}

// Decide projects each event onto its claim's read model and decides new
// claims, in stream order.
func (p *Processor) Decide(_ context.Context, batch []streams.Delivery, got *streams.Snapshot) []Decision {
	k := p.s.Keys()
	st := &batchState{views: map[string]*claimView{}, load: map[string]int64{}, members: got.Members(k.Adjusters())}
	for _, pk := range k.All() {
		for name, score := range got.Scores(pk.AdjusterLoad()) {
			st.load[name] += int64(score)
		}
	}
	now := p.s.Now()
	out := make([]Decision, len(batch))
	for i, d := range batch {
		e := d.Event
		v := st.view(e.ClaimID, got.Hash(k.ReadModel(e.ClaimID)))
		switch {
		case e.Type == claims.ClaimSubmitted && v.version <= 1 && got.Version(e.ClaimID) == 1:
			// New, or projected but not decided (a crash before v2 was
			// written, on an older release): decide it now.
			out[i] = p.decide(e, v, st, got, now)
		case e.Version <= v.version:
			out[i] = Decision{Summary: fmt.Sprintf("nothing to do: the read model is already at v%d", v.version)}
		case e.Version > v.version+1:
			out[i] = Decision{Err: fmt.Errorf("project %s v%d of %s: the read model is at v%d: %w", e.Type, e.Version, claims.Short(e.ClaimID), v.version, claims.ErrOutOfOrder)}
		case !slices.Contains(claims.AllowedStatuses(e.Type, e.Data), v.status):
			out[i] = Decision{Err: Permanent(fmt.Errorf("project %s v%d of %s: the read model says the claim is %s: %w",
				e.Type, e.Version, claims.Short(e.ClaimID), v.status, &claims.TransitionError{ClaimID: e.ClaimID, From: v.status, Event: e.Type, Need: claims.NeedWords(claims.AllowedStatuses(e.Type, e.Data))}))}
		default:
			out[i] = p.project(e, v, st)
		}
	}
	return out
}

func (st *batchState) view(claimID string, row map[string]string) *claimView {
	if v := st.views[claimID]; v != nil {
		return v
	}
	v := &claimView{status: claims.Status(row["status"]), adjuster: row["adjuster"]}
	v.version, _ = strconv.ParseInt(row["version"], 10, 64)
	st.views[claimID] = v
	return v
}

// apply moves the in-memory view and workload as the event's projection
// will move them in Redis.
func (st *batchState) apply(v *claimView, e claims.Event) {
	next := claims.NextStatus(v.status, e)
	switch {
	case e.Type == claims.ClaimAssigned:
		if adj := e.String("adjuster"); adj != v.adjuster {
			if v.adjuster != "" {
				st.load[v.adjuster]--
			}
			st.load[adj]++
			v.adjuster = adj
		}
	case next.Final() && v.adjuster != "":
		st.load[v.adjuster]--
	}
	v.version, v.status = e.Version, next
}

// project is the effect of one event on the read model.
func (p *Processor) project(e claims.Event, v *claimView, st *batchState) Decision {
	allowed, op, adjuster, fields := claims.ReadModelUpdate(e)
	st.apply(v, e)
	pk := p.s.Keys().ForClaim(e.ClaimID)
	eff := scripts.ProjectCall{
		ReadModel: pk.ReadModel(e.ClaimID), AdjusterLoad: pk.AdjusterLoad(),
		Version: e.Version, Allowed: allowed, Op: op, Adjuster: adjuster, Fields: fields,
	}.Effect()
	return Decision{Effects: []scripts.Effect{eff}, Explain: func(r []scripts.Reply) (string, error) {
		return explainProjection(e, r[0])
	}}
}

func explainProjection(e claims.Event, r scripts.Reply) (string, error) {
	switch r.Status {
	case "ok":
		return fmt.Sprintf("%s; read model at v%d", claims.DescribeEvent(e), e.Version), nil
	case "skip":
		return "nothing to do: the read model is already at v" + r.Detail, nil
	case "gap":
		return "", fmt.Errorf("project %s v%d of %s: the read model is at v%s: %w", e.Type, e.Version, claims.Short(e.ClaimID), r.Detail, claims.ErrOutOfOrder)
	case "invalid":
		from := claims.Status(r.Detail)
		need := claims.NeedWords(claims.AllowedStatuses(e.Type, e.Data))
		return "", Permanent(fmt.Errorf("project %s v%d of %s: the read model says the claim is %s: %w",
			e.Type, e.Version, claims.Short(e.ClaimID), from, &claims.TransitionError{ClaimID: e.ClaimID, From: from, Event: e.Type, Need: need}))
	}
	return "", fmt.Errorf("project %s: unexpected script reply %v", e.ID, r)
}

// decide appends claim.assigned or claim.rejected after claim.submitted:
// one decide.lua effect projects the submission, appends the decision if
// the claim is still at version 1, and projects the decision at once.
func (p *Processor) decide(e claims.Event, v *claimView, st *batchState, got *streams.Snapshot, now time.Time) Decision {
	k := p.s.Keys()
	policyID := e.String("policy_id")
	var (
		data     map[string]any
		t        claims.EventType
		op       = "final"
		adjuster string
		summary  string
	)
	if code, reason := claims.CheckPolicy(policyID, got.Hash(k.Policy(policyID)), e); code != "" {
		t, data = claims.ClaimRejected, map[string]any{"code": code, "reason": reason}
		summary = fmt.Sprintf("rejected: %s (%s)", code, reason)
	} else {
		var open int64
		adjuster, open = claims.LeastLoaded(st.members, st.load)
		t, op = claims.ClaimAssigned, "assign"
		data = map[string]any{"adjuster": adjuster, "note": fmt.Sprintf("least-loaded adjuster (%d open claims)", open)}
		summary = "assigned to " + adjuster
	}
	decision := claims.Event{
		Type: t, ClaimID: e.ClaimID, Version: 2, Actor: processorActor, OccurredAt: now,
		EventID: uuid.NewSHA1(processorNamespace, []byte("decide:"+e.EventID)).String(),
	}
	var err error
	if decision.Data, err = claims.Normalize(data); err != nil {
		return Decision{Err: Permanent(err)}
	}
	eff, err := streams.DecideEffect(p.s.Keys(), p.s.EntryAt(decision.OccurredAt), e, decision, op, adjuster)
	if err != nil {
		return Decision{Err: Permanent(err)}
	}
	if v.version == 0 {
		st.apply(v, e)
	}
	st.apply(v, decision)
	return Decision{Effects: []scripts.Effect{eff}, Explain: func(r []scripts.Reply) (string, error) {
		switch r[0].Status {
		case "ok":
			return summary, nil
		case "decided":
			return fmt.Sprintf("already decided (claim at v%s)", r[0].Detail), nil
		}
		return explainProjection(e, r[0])
	}}
}
