package upkeep

import (
	"os"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	streamstest.StopCluster()
	os.Exit(code)
}

// testSubmission is a valid claim as a customer files it.
func testSubmission() streams.Submission {
	return streams.Submission{CustomerID: "CUST-0001", PolicyID: "POL-0001", Amount: 2500, ClaimType: "auto",
		IncidentDate: "2026-01-15", Description: "rear-ended at a light"}
}

// xlen is how many entries the event streams hold.
func xlen(t testing.TB, s *streams.Store) int64 {
	t.Helper()
	var total int64
	for _, key := range s.Keys().EventStreams() {
		total += streamLen(t, s, key)
	}
	return total
}
