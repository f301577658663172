package streams

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"claimsctl/streams/claims"
	"claimsctl/streams/scripts"
)

// TestDecideWritesTheReadModelAsProjecting: decide.lua writes the read
// model in one HSET of both rows unless an earlier operation of the same
// call left writes to it (then field by field, deferred). Either way the
// read model is the submission's row, then the decision's, with the
// decision's entry as last_entry_id, and the adjuster's load moves once.
func TestDecideWritesTheReadModelAsProjecting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, earlier := range []bool{false, true} {
			t.Run(fmt.Sprintf("earlier write %v", earlier), func(t *testing.T) {
				sub, _, err := s.Submit(ctx, testSubmission(), EmitOptions{})
				require.NoError(t, err)
				decision := claims.Event{
					Type: claims.ClaimAssigned, ClaimID: sub.ClaimID, Version: 2, Actor: "processor",
					OccurredAt: sub.OccurredAt.Add(1e9), EventID: "decision-" + sub.EventID,
					Data: map[string]any{"adjuster": "ADJ-007", "note": "least-loaded adjuster (0 open claims)"},
				}
				eff, err := DecideEffect(s.keys, s.EntryAt(decision.OccurredAt), sub, decision, "assign", "ADJ-007")
				require.NoError(t, err)
				effects := []scripts.Effect{eff}
				if earlier {
					allowed, op, adjuster, row := claims.ReadModelUpdate(sub)
					pk := s.keys.ForClaim(sub.ClaimID)
					effects = []scripts.Effect{scripts.ProjectCall{ReadModel: pk.ReadModel(sub.ClaimID), AdjusterLoad: pk.AdjusterLoad(),
						Version: 1, Allowed: allowed, Op: op, Adjuster: adjuster, Fields: row}.Effect(), eff}
				}
				before, err := s.AdjusterLoads(ctx)
				require.NoError(t, err)
				replies, errs, err := s.RunAll(ctx, nil, effects)
				require.NoError(t, err)
				for _, e := range errs {
					require.NoError(t, e)
				}
				got := replies[len(replies)-1]
				require.Equal(t, "ok", got.Status, "decide's reply")

				want := map[string]string{}
				_, _, _, subRow := claims.ReadModelUpdate(sub)
				decision.ID = got.Detail
				_, _, _, decRow := claims.ReadModelUpdate(decision)
				for _, row := range [][]any{subRow, decRow} {
					for i := 0; i+1 < len(row); i += 2 {
						want[fmt.Sprint(row[i])] = fmt.Sprint(row[i+1])
					}
				}
				view, err := s.ClaimView(ctx, sub.ClaimID)
				require.NoError(t, err)
				assert.Equal(t, want, view)
				assert.Equal(t, got.Detail, view["last_entry_id"], "the decision's entry, not the submission's")
				after, err := s.AdjusterLoads(ctx)
				require.NoError(t, err)
				assert.Equal(t, before["ADJ-007"]+1, after["ADJ-007"])

				// Decided again (a redelivery): nothing moves.
				replies, _, err = s.RunAll(ctx, nil, []scripts.Effect{eff})
				require.NoError(t, err)
				assert.Equal(t, "decided", replies[0].Status)
				again, err := s.ClaimView(ctx, sub.ClaimID)
				require.NoError(t, err)
				assert.Equal(t, view, again)
				loads, err := s.AdjusterLoads(ctx)
				require.NoError(t, err)
				assert.Equal(t, after["ADJ-007"], loads["ADJ-007"])
			})
		}
	})
}
