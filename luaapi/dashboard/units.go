package dashboard

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// HumanSeconds reads a duration the way a claims team says it: 45s,
// 40m 20s, 2h 5m, 3d 4h; "-" when there is nothing to average. Under ten
// seconds it keeps more precision, because in the lab a claim goes from
// submitted to decided within a second.
func HumanSeconds(sec float64) string {
	if sec <= 0 || math.IsNaN(sec) || math.IsInf(sec, 0) {
		return "-"
	}
	switch {
	case sec < 0.001:
		return "<1ms"
	case sec < 1:
		return fmt.Sprintf("%dms", int(math.Round(sec*1000)))
	case sec < 10:
		return strconv.FormatFloat(sec, 'f', 1, 64) + "s"
	}
	d := time.Duration(sec * float64(time.Second)).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// money formats an amount with thousands separators and cents: 14,500.00.
func money(f float64) string {
	s := strconv.FormatFloat(math.Abs(f), 'f', 2, 64)
	whole, cents, _ := strings.Cut(s, ".")
	var b strings.Builder
	if f < 0 {
		b.WriteByte('-')
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String() + "." + cents
}
