package dashboard

import (
	"go/build"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImportsOnlyTheDomain keeps the renderer free of the store, Lua and
// terminals: the standard library and the claims domain, nothing else.
func TestImportsOnlyTheDomain(t *testing.T) {
	t.Parallel()
	pkg, err := build.ImportDir(".", 0)
	require.NoError(t, err)
	for _, path := range pkg.Imports {
		std := !strings.Contains(strings.Split(path, "/")[0], ".") && !strings.HasPrefix(path, "claimsctl/")
		assert.True(t, std || path == "claimsctl/streams/claims", "dashboard imports %s", path)
	}
}
