package streams

import "testing"

// For scripts_cluster_test.go, a test of package streams_test: it drives
// the scripts through the packages above the store too.

// ScriptFiles are the embedded scripts.
var ScriptFiles = scriptFiles

// ScriptNames names each script by its SHA1.
func ScriptNames() map[string]string {
	return map[string]string{appendScript.Hash(): "append.lua", batchScript.Hash(): "batch.lua", ForgetScript.Hash(): "forget_consumer.lua"}
}

// NewClusterStore is a store on the package's cluster (newClusterStore).
func NewClusterStore(t testing.TB, opts Options) *Store { return newClusterStore(t, opts) }
