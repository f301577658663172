package dashboard

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHumanUnits(t *testing.T) {
	t.Parallel()
	for sec, want := range map[float64]string{0: "-", -5: "-", 0.0004: "<1ms", 0.4: "400ms", 4.3: "4.3s", 45: "45s", 59.7: "1m 0s", 2420: "40m 20s", 7200: "2h 0m", 86400 + 3*3600: "1d 3h"} {
		assert.Equal(t, want, HumanSeconds(sec), "%v seconds", sec)
	}
	for f, want := range map[float64]string{0: "0.00", 999.5: "999.50", 1000: "1,000.00", 1234567.891: "1,234,567.89", -2500: "-2,500.00"} {
		assert.Equal(t, want, money(f), "%v", f)
	}
}
