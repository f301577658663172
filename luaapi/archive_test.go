package luaapi

import (
	"os"
	"path/filepath"
	"testing"

	"claimsctl/streams/claims"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestArchiveFileAbortLeavesTheFileAsItWas: a trim that stops after
// appending (its stream changed) leaves no trace in the archive.
func TestArchiveFileAbortLeavesTheFileAsItWas(t *testing.T) {
	t.Parallel()
	page := []claims.ArchiveEntry{{ID: "5-0", Stream: "claims:events", Fields: []string{"a", "b"}}}
	fresh := filepath.Join(t.TempDir(), "new", "a.jsonl")
	a, err := openArchive(fresh, map[string]string{"claims:events": "5-0"})
	require.NoError(t, err)
	require.NoError(t, a.Append(page))
	a.Abort()
	_, err = os.Stat(fresh)
	assert.ErrorIs(t, err, os.ErrNotExist, "a file this trim created is removed")

	kept := filepath.Join(t.TempDir(), "a.jsonl")
	old := `{"id":"4-0","stream":"claims:events","fields":{"a":"b"}}` + "\n"
	require.NoError(t, os.WriteFile(kept, []byte(old), 0o644))
	a, err = openArchive(kept, map[string]string{"claims:events": "5-0"})
	require.NoError(t, err)
	require.NoError(t, a.Append(page))
	a.Abort()
	got, err := os.ReadFile(kept)
	require.NoError(t, err)
	assert.Equal(t, old, string(got), "cut back to what it held")

	a, err = openArchive(kept, map[string]string{"claims:events": "5-0"})
	require.NoError(t, err)
	require.NoError(t, a.Append(page))
	require.NoError(t, a.Commit())
	got, err = os.ReadFile(kept)
	require.NoError(t, err)
	assert.Equal(t, old+`{"id":"5-0","stream":"claims:events","fields":{"a":"b"}}`+"\n", string(got))
	_, err = openArchive(kept, map[string]string{"claims:events": "5-0"})
	assert.ErrorContains(t, err, "a.jsonl already holds entries up to 5-0 of claims:events, not older than 5-0 (choose another file)")
}
