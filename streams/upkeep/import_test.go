package upkeep

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trimAll archives and removes every event of s.
func trimAll(t testing.TB, s *streams.Store) *memArchive {
	t.Helper()
	ctx := context.Background()
	none := int64(0)
	plan, err := PlanTrim(ctx, s, claims.TrimOptions{MaxLen: &none})
	require.NoError(t, err)
	archive := &memArchive{}
	_, err = Trim(ctx, s, plan, TrimExec{Force: true, Archive: archive.open})
	require.NoError(t, err)
	require.Zero(t, xlen(t, s))
	return archive
}

// TestImportRoutesEachEntryToItsClaimsPartition: a trimmed and archived
// event store imports back exactly as it was, every claim's events in its
// partition, and its claims rebuild.
func TestImportRoutesEachEntryToItsClaimsPartition(t *testing.T) {
	t.Parallel()
	streamstest.ForEachLayout(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		ids := submitClaims(t, s, 40)
		_, _, err := s.Emit(ctx, ids[0], claims.ClaimAssigned, map[string]any{"adjuster": "ADJ-001"}, streams.EmitOptions{})
		require.NoError(t, err)
		before := streamEntries(t, s)
		archive := trimAll(t, s)

		var progress []int64
		res, err := Import(ctx, s, archive.reader(), ImportOptions{Progress: func(done, total int64) {
			assert.EqualValues(t, 41, total)
			progress = append(progress, done)
		}})
		require.NoError(t, err)
		assert.EqualValues(t, 41, res.Imported)
		assert.False(t, res.PerSource)
		assert.NotEmpty(t, progress)
		assert.EqualValues(t, 41, progress[len(progress)-1])
		assert.Equal(t, before, streamEntries(t, s), "every entry back in its stream with its id")

		for _, id := range ids {
			require.NoError(t, s.Client().Del(ctx, s.Keys().Aggregate(id)).Err())
		}
		rebuilt, err := Rebuild(ctx, s)
		require.NoError(t, err)
		assert.Equal(t, 40, rebuilt.Claims)
		c, err := s.Claim(ctx, ids[0])
		require.NoError(t, err)
		assert.Equal(t, claims.StatusAssigned, c.Status)
	})
}

// TestImportIntoANamedStream: an archive of one stream goes into one
// stream; one of several partitions (whose ids interleave and may repeat)
// into one stream per partition, name:p0, name:p1 ...
func TestImportIntoANamedStream(t *testing.T) {
	t.Parallel()
	streamstest.ForEachLayout(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		submitClaims(t, s, 30)
		before := streamEntries(t, s)
		archive := trimAll(t, s)
		restored := s.Keys().Named("claims:restored")
		res, err := Import(ctx, s, archive.reader(), ImportOptions{Stream: restored})
		require.NoError(t, err)
		assert.EqualValues(t, 30, res.Imported)

		var sources []string
		for _, key := range s.Keys().EventStreams() {
			if len(before[key]) > 0 {
				sources = append(sources, key)
			}
		}
		if len(sources) == 1 {
			assert.False(t, res.PerSource)
			require.Len(t, res.Targets, 1)
			assert.Equal(t, restored, res.Targets[0].Stream)
		} else {
			assert.True(t, res.PerSource)
			require.Len(t, res.Targets, len(sources))
		}
		for i, src := range sources {
			target := restored
			if res.PerSource {
				target = fmt.Sprintf("%s:p%d", restored, i)
				assert.Equal(t, keeperOf(s).archiveName(src), res.Targets[i].Source)
			}
			assert.Equal(t, target, res.Targets[i].Stream)
			msgs, err := s.Client().XRange(ctx, target, "-", "+").Result()
			require.NoError(t, err)
			assert.Equal(t, before[src], msgs, "%s holds %s", target, src)
		}
	})
}

// TestImportRefusesATargetWithLaterEntries: nothing is written when any
// target already has an entry at or after its first archived id.
func TestImportRefusesATargetWithLaterEntries(t *testing.T) {
	t.Parallel()
	streamstest.ForEachLayout(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		ids := submitClaims(t, s, 20)
		archive := trimAll(t, s)
		// A newer event in the partition of one claim only.
		_, _, err := s.Emit(ctx, ids[3], claims.ClaimAssigned, map[string]any{"adjuster": "ADJ-001"}, streams.EmitOptions{})
		require.NoError(t, err)
		_, err = Import(ctx, s, archive.reader(), ImportOptions{})
		var conflict *claims.ImportConflictError
		require.ErrorAs(t, err, &conflict)
		assert.Equal(t, s.Keys().ForClaim(ids[3]).Events(), conflict.Stream)
		assert.EqualValues(t, 1, xlen(t, s), "no partition written")
	})
}

// TestImportDamagedArchiveWritesNothing: a bad line anywhere, even the
// last, is found before the first write.
func TestImportDamagedArchiveWritesNothing(t *testing.T) {
	t.Parallel()
	streamstest.ForEachLayout(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		submitClaims(t, s, 12)
		archive := trimAll(t, s)
		archive.buf.WriteString(`{"id":"1-0","fields":{"a":1}}` + "\n")
		_, err := Import(ctx, s, archive.reader(), ImportOptions{})
		var lineErr *claims.ArchiveLineError
		require.ErrorAs(t, err, &lineErr)
		assert.Equal(t, 13, lineErr.Line)
		assert.ErrorIs(t, err, claims.ErrInvalid)
		assert.Zero(t, xlen(t, s), "nothing written")
	})
}

// TestImportOldArchive: lines without "stream" (written before it was
// recorded) import by their claim, or into a named stream as one.
func TestImportOldArchive(t *testing.T) {
	t.Parallel()
	streamstest.ForEachLayout(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		line := func(id, claim string, v int) string {
			return fmt.Sprintf(`{"id":"%s","fields":{"type":"claim.submitted","claim_id":"%s","version":"%d"}}`, id, claim, v)
		}
		var text strings.Builder
		for i := range 12 {
			fmt.Fprintln(&text, line(fmt.Sprintf("1795168800000-%d", i), fmt.Sprintf("claim-%d", i), 1))
		}
		fmt.Fprintln(&text, `{"id":"1795168800001-0","fields":{"note":"no claim"}}`)
		res, err := Import(ctx, s, strings.NewReader(text.String()), ImportOptions{})
		require.NoError(t, err)
		assert.EqualValues(t, 13, res.Imported)
		for i := range 12 {
			id := fmt.Sprintf("1795168800000-%d", i)
			got, err := s.Client().XRange(ctx, s.Keys().ForClaim(fmt.Sprintf("claim-%d", i)).Events(), id, id).Result()
			require.NoError(t, err)
			assert.Len(t, got, 1, "claim-%d in its partition", i)
		}
		got, err := s.Client().XRange(ctx, s.Keys().Events(), "1795168800001-0", "1795168800001-0").Result()
		require.NoError(t, err)
		assert.Len(t, got, 1, "an entry without a claim goes to partition 0")

		res, err = Import(ctx, s, strings.NewReader(text.String()), ImportOptions{Stream: s.Keys().Named("old")})
		require.NoError(t, err)
		assert.False(t, res.PerSource)
		assert.EqualValues(t, 13, res.Imported)
		n, err := s.Client().XLen(ctx, s.Keys().Named("old")).Result()
		require.NoError(t, err)
		assert.EqualValues(t, 13, n)
	})
}

// TestImportEntryWithoutClaimGoesBackToItsStream: with no claim_id, the
// stream an entry was archived from decides, when it is an event stream.
func TestImportEntryWithoutClaimGoesBackToItsStream(t *testing.T) {
	t.Parallel()
	streamstest.ForEachServer(t, streams.Options{Partitions: 6}, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		third := keeperOf(s).archiveName(s.Keys().Partition(3).Events())
		text := `{"id":"5-0","stream":"` + third + `","fields":{"note":"by hand"}}` + "\n" +
			`{"id":"6-0","stream":"claims:elsewhere","fields":{"note":"by hand"}}` + "\n"
		_, err := Import(ctx, s, strings.NewReader(text), ImportOptions{})
		require.NoError(t, err)
		assert.EqualValues(t, 1, streamLen(t, s, s.Keys().Partition(3).Events()))
		assert.EqualValues(t, 1, streamLen(t, s, s.Keys().Events()), "not an event stream: partition 0")
	})
}

// TestImportOfAnotherLayoutIsRefused: an archive of several partitions
// imported by claim into a store whose layout differs would interleave
// their ids in one stream: refused, nothing written, pointing to a named
// stream. The three claims share one partition of the store, whatever
// its count.
func TestImportOfAnotherLayoutIsRefused(t *testing.T) {
	t.Parallel()
	streamstest.ForEachServer(t, streams.Options{}, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		line := func(id, stream, claim string) string {
			return fmt.Sprintf(`{"id":"%s","stream":"%s","fields":{"claim_id":"%s"}}`+"\n", id, stream, claim)
		}
		c := streamstest.ClaimIDsIn(s, 0, 3)
		text := line("10-0", "claims:{x}:events", c[0]) + line("12-0", "claims:{x}:events", c[1]) + line("11-0", "claims:{y}:events", c[2])
		_, err := Import(ctx, s, strings.NewReader(text), ImportOptions{})
		require.ErrorIs(t, err, claims.ErrInvalid)
		assert.Contains(t, err.Error(), "line 3: entry 11-0 of claims:{y}:events belongs in "+s.Keys().Events())
		assert.Contains(t, err.Error(), "import it into a named stream instead")
		assert.Zero(t, xlen(t, s), "nothing written")
		res, err := Import(ctx, s, strings.NewReader(text), ImportOptions{Stream: s.Keys().Named("claims:restored")})
		require.NoError(t, err)
		assert.True(t, res.PerSource)
		assert.EqualValues(t, 2, streamLen(t, s, s.Keys().Named("claims:restored:p0")))
		assert.EqualValues(t, 1, streamLen(t, s, s.Keys().Named("claims:restored:p1")))
	})
}

func streamLen(t testing.TB, s *streams.Store, key string) int64 {
	t.Helper()
	n, err := s.Client().XLen(context.Background(), key).Result()
	require.NoError(t, err)
	return n
}

// TestStateLagIsExactAfterTrimAndImport: a group's lag is the number of
// entries after its position, whatever the server's entries-read says
// after XTRIM, and an import behind the group's position is not lag.
// The claims share the last partition, so a trim that keeps 2 of each
// stream trims past a position; a consume walks past the empty ones.
func TestStateLagIsExactAfterTrimAndImport(t *testing.T) {
	t.Parallel()
	streamstest.ForEachServer(t, streams.Options{}, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		for _, id := range streamstest.ClaimIDsIn(s, s.Keys().Partitions()-1, 5) {
			sub := testSubmission()
			sub.ClaimID = id
			_, _, err := s.Submit(ctx, sub, streams.EmitOptions{})
			require.NoError(t, err)
		}
		_, err := s.Consume(ctx, streams.GroupProcessors, "w1", streams.ConsumeOptions{Count: 1})
		require.NoError(t, err)
		_, err = s.Consume(ctx, streams.GroupAnalytics, "a1", streams.ConsumeOptions{Count: 5})
		require.NoError(t, err)
		lag := func() (processors, analytics int64) {
			st, err := s.State(ctx)
			require.NoError(t, err)
			ev := st.Events()
			return ev.Group(streams.GroupProcessors).Lag, ev.Group(streams.GroupAnalytics).Lag
		}
		p, a := lag()
		assert.Equal(t, int64(4), p)
		assert.Equal(t, int64(0), a)

		// Trim past the processors' position: the two entries left are unread.
		keep := int64(2)
		plan, err := PlanTrim(ctx, s, claims.TrimOptions{MaxLen: &keep})
		require.NoError(t, err)
		var archive memArchive
		_, err = Trim(ctx, s, plan, TrimExec{Force: true, Archive: archive.open})
		require.NoError(t, err)
		p, a = lag()
		assert.Equal(t, int64(2), p, "trimmed past the position: what is left is unread")
		assert.Equal(t, int64(0), a)

		// Everything trimmed, then imported back: the entries are older than
		// both groups' positions, so nothing is lag.
		_, err = s.Consume(ctx, streams.GroupProcessors, "w1", streams.ConsumeOptions{Count: 10})
		require.NoError(t, err)
		none := int64(0)
		plan, err = PlanTrim(ctx, s, claims.TrimOptions{MaxLen: &none})
		require.NoError(t, err)
		_, err = Trim(ctx, s, plan, TrimExec{Force: true, Archive: archive.open})
		require.NoError(t, err)
		_, err = Import(ctx, s, archive.reader(), ImportOptions{})
		require.NoError(t, err)
		p, a = lag()
		assert.Zero(t, p, "imported entries behind the group are not lag")
		assert.Zero(t, a)
	})
}
