package workers_test

import (
	"os"
	"testing"

	"claimsctl/streams/streamstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	streamstest.StopCluster()
	os.Exit(code)
}
