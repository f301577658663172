package claims

import (
	"fmt"
	"sort"
	"strconv"
)

// CheckPolicy says why a claim must be rejected (code "" if it must not):
// the policy exists, is active, covers the amount and the claim's type.
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
	amount := e.Number("amount")
	if limit, err := strconv.ParseFloat(pol["coverage_limit"], 64); err == nil && amount > limit {
		return "exceeds_coverage", fmt.Sprintf("amount %s exceeds the coverage limit %s of policy %s", FormatAmount(amount), FormatAmount(limit), id)
	}
	if typ, claimType := pol["type"], e.String("claim_type"); typ != "" && typ != claimType {
		return "not_covered", fmt.Sprintf("policy %s covers %s claims, not %s", id, typ, claimType)
	}
	return "", ""
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
