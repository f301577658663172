package claims

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSampleClaims(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	a := SampleClaims(2000, 7, now)
	b := SampleClaims(2000, 7, now)
	require.Len(t, a, 2000)
	assert.Equal(t, a, b, "the same seed gives the same claims")
	assert.NotEqual(t, a, SampleClaims(2000, 8, now))

	policies := map[string]map[string]string{}
	for _, p := range GenerateSample(SampleOptions{Seed: 1}, now).Policies {
		m := map[string]string{}
		for i := 0; i < len(p.Fields); i += 2 {
			m[p.Fields[i]] = p.Fields[i+1]
		}
		policies[p.ID] = m
	}
	outcomes := map[string]int{}
	for _, c := range a {
		data := map[string]any{"customer_id": c.CustomerID, "policy_id": c.PolicyID, "amount": c.Amount,
			"claim_type": c.ClaimType, "incident_date": c.IncidentDate, "description": c.Description}
		require.NoError(t, ValidateData(ClaimSubmitted, data, now), "every sample is a valid submission")
		d, err := time.Parse(DateLayout, c.IncidentDate)
		require.NoError(t, err)
		assert.False(t, d.After(now))
		assert.True(t, d.After(now.AddDate(0, 0, -91)))
		code, _ := CheckPolicy(c.PolicyID, policies[c.PolicyID], Event{Data: data})
		outcomes[code]++
	}
	assert.Greater(t, outcomes[""], 1400, "most are assigned: %v", outcomes)
	for _, code := range []string{"policy_not_found", "policy_inactive", "exceeds_coverage", "not_covered"} {
		assert.Greater(t, outcomes[code], 20, "some are rejected as %s: %v", code, outcomes)
	}
	assert.Zero(t, outcomes["outside_policy_period"], "the active policies cover the 90 days the claims are dated in")
}
