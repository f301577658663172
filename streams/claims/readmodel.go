package claims

import (
	"strconv"
	"strings"
)

// ReadModelUpdate is what one event does to claim:<id>, computed in Go so
// the script stays generic.
func ReadModelUpdate(e Event) (allowed, op, adjuster string, fields []any) {
	from := AllowedStatuses(e.Type, e.Data)
	names := make([]string, len(from))
	for i, st := range from {
		names[i] = string(st)
	}
	allowed = "|" + strings.Join(names, "|") + "|"
	at := e.OccurredAt.UTC().Format(TimeLayout)
	num := func(k string) string { return strconv.FormatFloat(e.Number(k), 'f', -1, 64) }
	fields = []any{
		"claim_id", e.ClaimID,
		"version", strconv.FormatInt(e.Version, 10),
		"updated_at", at,
		"last_event", string(e.Type),
	}
	if e.ID != "" { // an event about to be appended gets its id from the script
		fields = append(fields, "last_entry_id", e.ID)
	}
	if st := NextStatus(StatusNone, e); st != StatusNone {
		fields = append(fields, "status", string(st))
	}
	switch e.Type {
	case ClaimSubmitted:
		fields = append(fields,
			"customer_id", e.String("customer_id"), "policy_id", e.String("policy_id"),
			"claim_type", e.String("claim_type"), "amount", num("amount"),
			"incident_date", e.String("incident_date"), "documents", "0", "submitted_at", at)
	case ClaimAssigned:
		op, adjuster = "assign", e.String("adjuster")
		fields = append(fields, "adjuster", adjuster)
	case DocumentUploaded:
		op = "document"
	case ClaimInvestigated:
		if r := e.String("fraud_risk"); r != "" {
			fields = append(fields, "fraud_risk", r)
		}
	case ClaimApproved:
		fields = append(fields, "approved_amount", num("approved_amount"), "decided_at", at)
	case ClaimRejected:
		op = "final"
		fields = append(fields, "decided_at", at, "rejection_code", e.String("code"), "rejection_reason", e.String("reason"))
	case PaymentInitiated:
		fields = append(fields, "payment_id", e.String("payment_id"))
	case PaymentCompleted:
		op = "final"
		fields = append(fields, "paid_amount", num("amount"), "paid_at", at)
	}
	return allowed, op, adjuster, fields
}
