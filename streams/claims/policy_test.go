package claims

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckPolicy(t *testing.T) {
	t.Parallel()
	active := map[string]string{"status": "active", "type": "home", "coverage_limit": "5000",
		"start_date": "2026-01-01", "end_date": "2026-12-31"}
	with := func(key, value string) map[string]string {
		m := map[string]string{}
		for k, v := range active {
			m[k] = v
		}
		if value == "" {
			delete(m, key)
		} else {
			m[key] = value
		}
		return m
	}
	claim := func(amount float64, typ, incident string) Event {
		return Event{Data: map[string]any{"amount": amount, "claim_type": typ, "incident_date": incident}}
	}
	for _, tc := range []struct {
		name   string
		pol    map[string]string
		e      Event
		code   string
		reason string
	}{
		{"covered", active, claim(4000, "home", "2026-06-01"), "", ""},
		{"first day of the period", active, claim(10, "home", "2026-01-01"), "", ""},
		{"last day of the period", active, claim(10, "home", "2026-12-31"), "", ""},
		{"no such policy", nil, claim(10, "home", "2026-06-01"), "policy_not_found", "policy POL-1 does not exist"},
		{"lapsed", with("status", "lapsed"), claim(10, "home", "2026-06-01"), "policy_inactive", "policy POL-1 is lapsed"},
		{"before the start", active, claim(10, "home", "2025-12-31"), "outside_policy_period",
			"incident on 2025-12-31 is outside the period of policy POL-1 (2026-01-01 to 2026-12-31)"},
		{"after the end", active, claim(10, "home", "2027-01-01"), "outside_policy_period",
			"incident on 2027-01-01 is outside the period of policy POL-1 (2026-01-01 to 2026-12-31)"},
		{"after the end, no start", with("start_date", ""), claim(10, "home", "2027-01-01"), "outside_policy_period",
			"incident on 2027-01-01 is outside the period of policy POL-1 (? to 2026-12-31)"},
		{"no period: not checked", with("end_date", "soon"), claim(10, "home", "2030-01-01"), "", ""},
		{"too much", active, claim(5001, "home", "2026-06-01"), "exceeds_coverage", "amount 5001 exceeds the coverage limit 5000 of policy POL-1"},
		{"another type", active, claim(10, "auto", "2026-06-01"), "not_covered", "policy POL-1 covers home claims, not auto"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, reason := CheckPolicy("POL-1", tc.pol, tc.e)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.reason, reason)
		})
	}
}
