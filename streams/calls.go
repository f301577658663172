package streams

import (
	"fmt"

	"claimsctl/streams/claims"
	"claimsctl/streams/scripts"
)

// DecideEffect is the decide.lua effect of the processor's decision on
// the claim that submission e filed; at is the decision entry's time
// (Store.EntryAt).
func DecideEffect(k Keys, at string, e, decision claims.Event, op, adjuster string) (scripts.Effect, error) {
	folded, err := claims.Fold([]claims.Event{e, decision})
	if err != nil {
		return scripts.Effect{}, fmt.Errorf("decide %s: %w", claims.Short(e.ClaimID), err)
	}
	fields, err := decision.Fields()
	if err != nil {
		return scripts.Effect{}, err
	}
	// The script sets last_entry_id (decide.lua), so the row has none.
	unappended := e
	unappended.ID = ""
	_, _, _, submittedRow := claims.ReadModelUpdate(unappended)
	_, _, _, decidedRow := claims.ReadModelUpdate(decision)
	pk := k.ForClaim(e.ClaimID)
	return scripts.DecideCall{
		Stream: pk.Events(), Aggregate: pk.Aggregate(e.ClaimID),
		ReadModel: pk.ReadModel(e.ClaimID), AdjusterLoad: pk.AdjusterLoad(),
		ClaimID: e.ClaimID, EventID: decision.EventID, State: aggregateState(folded), Op: op, Adjuster: adjuster,
		Status: string(folded.Status), SubmittedEntry: e.ID, At: at,
		Decision: fields, SubmittedFields: submittedRow, DecisionFields: decidedRow,
	}.Effect(), nil
}
