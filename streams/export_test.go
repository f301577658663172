package streams

import "testing"

// For scripts_cluster_test.go, a test of package streams_test: it drives
// the scripts through the packages above the store too.

// NewClusterStore is a store on the package's cluster (newClusterStore).
func NewClusterStore(t testing.TB, opts Options) *Store { return newClusterStore(t, opts) }
