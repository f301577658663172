package luaapi

import (
	"os"
	"testing"

	"claimsctl/streams/redistest"
)

// cluster is the package's one local Redis Cluster, 3 masters with a
// replica each, formed by the first test that asks for it (about 2 s), so
// that a failover has a replica to promote. Its tests keep to key
// prefixes of their own; a CLUSTER FAILOVER only swaps a master and its
// replica, so the cluster serves every slot before and after.
var cluster = redistest.NewSharedCluster(3, 1)

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.Stop()
	os.Exit(code)
}
