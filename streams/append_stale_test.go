package streams

import (
	"context"
	"testing"

	"claimsctl/streams/claims"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestACommandChecksTheClaimAsItIsNow: another handle on the keyspace (a
// worker, another terminal) moves a claim this handle submitted; the next
// command here is checked against the claim as it is now, not as this
// handle last wrote it, and returns it whole.
func TestACommandChecksTheClaimAsItIsNow(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		other := s.WithPrefix(s.Keys().Prefix)
		steps := lifecycleSteps()

		c := submitAndRun(t, s)
		_, _, err := other.Emit(ctx, c.ID, steps[0].Type, steps[0].Data, EmitOptions{})
		require.NoError(t, err)
		// Refused against what this handle wrote (submitted), allowed now.
		_, got, err := s.Emit(ctx, c.ID, steps[2].Type, steps[2].Data, EmitOptions{})
		require.NoError(t, err, "start the investigation of a claim another handle assigned")
		want, err := s.Claim(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, want, got, "the command returns the claim as Claim does")
		assert.Equal(t, "ADJ-001", got.Adjuster)

		// The caller's expected version is the claim's, not the held one's.
		_, _, err = other.Emit(ctx, c.ID, steps[3].Type, steps[3].Data, EmitOptions{})
		require.NoError(t, err)
		v := int64(4)
		_, got, err = s.Emit(ctx, c.ID, steps[4].Type, steps[4].Data, EmitOptions{ExpectedVersion: &v})
		require.NoError(t, err, "approve at the version the claim is at")
		assert.Equal(t, int64(5), got.Version)

		// A refusal is the current claim's.
		d := submitAndRun(t, s)
		_, _, err = other.Emit(ctx, d.ID, claims.ClaimRejected, map[string]any{"reason": "not covered"}, EmitOptions{})
		require.NoError(t, err)
		before := xlen(t, s)
		_, _, err = s.Emit(ctx, d.ID, steps[0].Type, steps[0].Data, EmitOptions{})
		assert.ErrorIs(t, err, claims.ErrInvalidTransition)
		assert.ErrorContains(t, err, "claim is rejected")
		assert.Equal(t, before, xlen(t, s), "nothing written")
	})
}

// TestEveryCommandReturnsTheClaimAsClaimDoes: whichever handle moved the
// claim last (this one, another, none: a fresh process), a command's
// result is the claim Claim reads right after it.
func TestEveryCommandReturnsTheClaimAsClaimDoes(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		other := s.WithPrefix(s.Keys().Prefix)
		handles := []*Store{s, other, s, s.WithPrefix(s.Keys().Prefix)}
		_, c, err := s.Submit(ctx, testSubmission(), EmitOptions{})
		require.NoError(t, err)
		for i, st := range lifecycleSteps() {
			h := handles[i%len(handles)]
			_, got, err := h.Emit(ctx, c.ID, st.Type, st.Data, EmitOptions{})
			require.NoError(t, err, "step %d: %s", i+1, st.Type)
			want, err := s.WithPrefix(s.Keys().Prefix).Claim(ctx, c.ID)
			require.NoError(t, err)
			assert.Equal(t, want, got, "step %d: %s", i+1, st.Type)
		}
		res, err := s.SubmitMany(ctx, []NewClaim{testSubmission().NewClaim()}, BulkOptions{})
		require.NoError(t, err)
		_, got, err := s.Emit(ctx, res.ClaimIDs[0], claims.ClaimRejected, map[string]any{"reason": "not covered"}, EmitOptions{})
		require.NoError(t, err)
		want, err := other.Claim(ctx, res.ClaimIDs[0])
		require.NoError(t, err)
		assert.Equal(t, want, got, "a command on a claim of a bulk submit")
	})
}
