package claims

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fieldsOf(r SampleRecord) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(r.Fields); i += 2 {
		m[r.Fields[i]] = r.Fields[i+1]
	}
	return m
}

func TestGenerateSampleIsCoherentWithToday(t *testing.T) {
	t.Parallel()
	for _, now := range []time.Time{
		time.Date(2026, 3, 31, 23, 59, 0, 0, time.UTC),
		time.Date(2031, 7, 4, 0, 0, 1, 0, time.UTC),
	} {
		today := now.Format(DateLayout)
		set := GenerateSample(SampleOptions{Policies: 40, Seed: 3}, now)
		require.Len(t, set.Policies, 40)
		lapsed := map[string]bool{}
		for _, id := range set.Lapsed {
			lapsed[id] = true
		}
		for i, p := range set.Policies {
			pol := fieldsOf(p)
			start, end := pol["start_date"], pol["end_date"]
			require.Less(t, start, end, "%s starts before it ends", p.ID)
			if (i+1)%5 == 0 {
				assert.True(t, lapsed[p.ID], "%s is listed as lapsed", p.ID)
				assert.Equal(t, "lapsed", pol["status"], p.ID)
				assert.Less(t, end, today, "lapsed %s ended before today (%s)", p.ID, today)
				continue
			}
			assert.Equal(t, "active", pol["status"], p.ID)
			assert.Less(t, start, now.AddDate(0, 0, -90).Format(DateLayout), "active %s started before the last 90 days", p.ID)
			assert.Greater(t, end, today, "active %s runs past today (%s)", p.ID, today)
		}
		for _, c := range set.Customers {
			assert.LessOrEqual(t, fieldsOf(c)["member_since"], today, "%s joined in the past", c.ID)
		}
	}
}

func TestGenerateSameOptionsSameDaySameValues(t *testing.T) {
	t.Parallel()
	morning := time.Date(2027, 5, 10, 6, 0, 0, 0, time.UTC)
	evening := time.Date(2027, 5, 10, 22, 30, 0, 0, time.UTC)
	o := SampleOptions{Customers: 4, Policies: 12, Seed: 9}
	assert.Equal(t, GenerateSample(o, morning), GenerateSample(o, evening), "one day, one set of values")

	next := GenerateSample(o, morning.AddDate(0, 0, 1))
	first := GenerateSample(o, morning)
	for i := range first.Policies {
		a, b := fieldsOf(first.Policies[i]), fieldsOf(next.Policies[i])
		assert.Equal(t, a["coverage_limit"], b["coverage_limit"], "the seed, not the day, decides the figures")
		sa, _ := time.Parse(DateLayout, a["start_date"])
		sb, _ := time.Parse(DateLayout, b["start_date"])
		assert.Equal(t, 24*time.Hour, sb.Sub(sa), "a day later, every period moves by a day")
	}
}
