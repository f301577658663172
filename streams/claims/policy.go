package claims

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// CheckPolicy says why a claim must be rejected (code "" if it must not):
// the policy exists, is active, was in force on the incident date, covers
// the amount and the claim's type. A period that is missing or unreadable
// (a policy hash written by another tool) is not checked.
func CheckPolicy(id string, pol map[string]string, e Event) (code, reason string) {
	if len(pol) == 0 {
		return "policy_not_found", fmt.Sprintf("policy %s does not exist", id)
	}
	if st := pol["status"]; st != "active" {
		if st == "" {
			st = "not active"
		}
		return "policy_inactive", fmt.Sprintf("policy %s is %s", id, st)
	}
	if code, reason := checkPeriod(id, pol, e.String("incident_date")); code != "" {
		return code, reason
	}
	amount := e.Number("amount")
	if limit, err := strconv.ParseFloat(pol["coverage_limit"], 64); err == nil && amount > limit {
		return "exceeds_coverage", fmt.Sprintf("amount %s exceeds the coverage limit %s of policy %s", FormatAmount(amount), FormatAmount(limit), id)
	}
	if typ, claimType := pol["type"], e.String("claim_type"); typ != "" && typ != claimType {
		return "not_covered", fmt.Sprintf("policy %s covers %s claims, not %s", id, typ, claimType)
	}
	return "", ""
}

// checkPeriod refuses an incident before the policy's start_date or after
// its end_date (both inclusive days).
func checkPeriod(id string, pol map[string]string, incident string) (code, reason string) {
	day, err := time.Parse(DateLayout, incident)
	if err != nil {
		return "", ""
	}
	start, errStart := time.Parse(DateLayout, pol["start_date"])
	end, errEnd := time.Parse(DateLayout, pol["end_date"])
	if (errStart == nil && day.Before(start)) || (errEnd == nil && day.After(end)) {
		return "outside_policy_period", fmt.Sprintf("incident on %s is outside the period of policy %s (%s to %s)",
			incident, id, orUnknown(pol["start_date"]), orUnknown(pol["end_date"]))
	}
	return "", ""
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// LeastLoaded picks the adjuster with the fewest open claims (ties: the
// smallest id) among members, or DefaultAdjusters if there are none.
func LeastLoaded(members []string, load map[string]int64) (string, int64) {
	if len(members) == 0 {
		members = DefaultAdjusters
	}
	sorted := append([]string(nil), members...)
	sort.Strings(sorted)
	best := sorted[0]
	for _, a := range sorted[1:] {
		if load[a] < load[best] {
			best = a
		}
	}
	return best, load[best]
}
