package luaapi

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMaintenancePartitionedLuaSuite runs every Test* function of
// testdata/maintenance_partitions_test.lua on stores of six partitions.
func TestMaintenancePartitionedLuaSuite(t *testing.T) {
	t.Parallel()
	const file = "testdata/maintenance_partitions_test.lua"
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	names := regexp.MustCompile(`(?m)^function (Test\w+)\(`).FindAllStringSubmatch(string(src), -1)
	require.NotEmpty(t, names)
	for backend, newStore := range streamstest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			for _, m := range names {
				name := m[1]
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					store := newStore(t, streams.Options{Partitions: 6})
					rt, out := newRuntime(t, store, false)
					installTestHelpers(t, rt, store, backend)
					ctx := context.Background()
					require.NoError(t, rt.DoFile(ctx, file))
					require.NoError(t, rt.DoString(ctx, name+"()", name), "output:\n%s", out.String())
					assert.Zero(t, rt.Failed(), "failed expectations:\n%s", out.String())
				})
			}
		})
	}
}

// TestStep11OnPartitions runs the lab's maintenance step on one stream
// and on six partitions, on both backends. The step writes its archive
// under data/, relative to where it runs, hence the change of directory
// (and no t.Parallel).
func TestStep11OnPartitions(t *testing.T) {
	step, err := filepath.Abs("../scripts/step11.lua")
	require.NoError(t, err)
	t.Chdir(t.TempDir())
	for backend, newStore := range streamstest.Backends(t) {
		for _, partitions := range []int{1, 6} {
			t.Run(fmt.Sprintf("%s/partitions=%d", backend, partitions), func(t *testing.T) {
				store := newStore(t, streams.Options{Partitions: partitions})
				rt, out := newRuntime(t, store, false)
				require.NoError(t, rt.DoFile(context.Background(), step), "output:\n%s", out.String())
				assert.Zero(t, rt.Failed(), "failed expectations:\n%s", out.String())
				text := out.String()
				assert.Contains(t, text, "Now you should see")
				if partitions == 1 {
					assert.Contains(t, text, "claims:events (all but the newest 5 entries): 25 of 30 entries would go")
					assert.Regexp(t, `imported \d+ entries into claims:restored-\d+, with their original ids`, text)
					return
				}
				assert.Contains(t, text, "keeps the newest entry of each of the 6 partitions")
				// One partition at risk or several, the refusal names them.
				assert.Regexp(t, `trim (\S+ )?refused: (in \S+, )?group maintenance-demo still has \d+ unread`, text)
				assert.Regexp(t, `into claims:restored-\d+:p0, claims:restored-\d+:p1`, text)
				assert.Len(t, regexp.MustCompile(`(?m)^  \S+:\{\w+\}:events: \d+ (entry|entries)$`).FindAllString(text, -1), 6, "a line per partition from info()")
			})
		}
	}
}
