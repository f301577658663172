package claims

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Verb names the command behind an event type, for error messages.
func Verb(t EventType) string {
	switch t {
	case ClaimSubmitted:
		return "submit"
	case ClaimAssigned:
		return "assign"
	case DocumentUploaded:
		return "upload"
	case ClaimInvestigated:
		return "investigate"
	case ClaimApproved:
		return "approve"
	case ClaimRejected:
		return "reject"
	case PaymentInitiated:
		return "pay"
	case PaymentCompleted:
		return "settle"
	}
	return "emit " + string(t)
}

// Short abbreviates a uuid for messages (the form printed wherever a claim
// id is shown); other ids stay whole.
func Short(id string) string {
	if len(id) == 36 && strings.Count(id, "-") == 4 {
		return id[:8]
	}
	return id
}

// Plural is "1 delivery" or "3 deliveries".
func Plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Notification kinds.
const (
	NotifyDecision  = "decision"   // approved or rejected
	NotifyPayment   = "payment"    // payment completed
	NotifyHighValue = "high_value" // a claim over the high-value threshold was submitted
)

// Notification is the alert an event raises (kind "" for none): decisions,
// payments, and submissions above highValue.
func Notification(e Event, highValue float64) (kind, msg string) {
	c := Short(e.ClaimID)
	switch e.Type {
	case ClaimApproved:
		return NotifyDecision, fmt.Sprintf("claim %s approved for %s", c, FormatAmount(e.Number("approved_amount")))
	case ClaimRejected:
		return NotifyDecision, fmt.Sprintf("claim %s rejected: %s", c, e.String("reason"))
	case PaymentCompleted:
		return NotifyPayment, fmt.Sprintf("claim %s paid %s (%s)", c, FormatAmount(e.Number("amount")), e.String("payment_id"))
	case ClaimSubmitted:
		if amt := e.Number("amount"); amt > highValue {
			return NotifyHighValue, fmt.Sprintf("high-value %s claim %s: %s on %s (threshold %s)",
				e.String("claim_type"), c, FormatAmount(amt), e.String("policy_id"), FormatAmount(highValue))
		}
	}
	return "", ""
}

// DescribeEvent says in a few words what an event did, for logs, the
// audit trail and notifications.
func DescribeEvent(e Event) string {
	switch e.Type {
	case ClaimSubmitted:
		return fmt.Sprintf("submitted: %s %s claim on %s by %s", FormatAmount(e.Number("amount")), e.String("claim_type"), e.String("policy_id"), e.String("customer_id"))
	case ClaimAssigned:
		return "assigned to " + e.String("adjuster")
	case DocumentUploaded:
		return fmt.Sprintf("document %s (%s)", e.String("filename"), e.String("document_type"))
	case ClaimInvestigated:
		if e.String("phase") == "started" {
			return "investigation started"
		}
		return "investigation completed"
	case ClaimApproved:
		return "approved " + FormatAmount(e.Number("approved_amount"))
	case ClaimRejected:
		if c := e.String("code"); c != "" {
			return fmt.Sprintf("rejected: %s (%s)", c, e.String("reason"))
		}
		return "rejected: " + e.String("reason")
	case PaymentInitiated:
		return fmt.Sprintf("payment %s of %s initiated", e.String("payment_id"), FormatAmount(e.Number("amount")))
	case PaymentCompleted:
		return fmt.Sprintf("paid %s (%s)", FormatAmount(e.Number("amount")), e.String("payment_id"))
	}
	return string(e.Type)
}

// FormatAmount shows an amount as reports do: whole units without
// decimals, otherwise two. A number no amount can be is shown as
// FormatNumber does.
func FormatAmount(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) >= 1e15:
		return FormatNumber(f)
	case f == math.Trunc(f):
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprintf("%.2f", f)
}

// FormatNumber shows any number readably in a message: as typed for the
// usual ones (0.001, 2500, -5), in exponent form when very large or very
// small (1e+300, 1e-09), and NaN and infinity by name.
func FormatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "infinity"
	case math.IsInf(f, -1):
		return "-infinity"
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e15) {
		return strconv.FormatFloat(f, 'g', 6, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
