package streamstest

import (
	"testing"
	"time"

	"claimsctl/streams"

	"github.com/google/uuid"
)

// WaitFor polls cond until it holds or 10s pass, failing t then: tests
// wait on conditions, never on fixed sleeps.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ClaimIDsIn is n new claim ids of partition p of s's layout.
func ClaimIDsIn(s *streams.Store, p, n int) []string {
	var ids []string
	for len(ids) < n {
		if id := uuid.NewString(); s.Keys().PartitionOf(id) == p {
			ids = append(ids, id)
		}
	}
	return ids
}
