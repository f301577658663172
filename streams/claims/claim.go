package claims

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Status is where a claim stands in its lifecycle.
type Status string

// The claim statuses. StatusNone is a claim with no events yet.
const (
	StatusNone             Status = ""
	StatusSubmitted        Status = "submitted"
	StatusAssigned         Status = "assigned"
	StatusInvestigating    Status = "investigating"
	StatusInvestigated     Status = "investigated"
	StatusApproved         Status = "approved"
	StatusRejected         Status = "rejected"
	StatusPaymentInitiated Status = "payment_initiated"
	StatusPaid             Status = "paid"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{
	StatusSubmitted, StatusAssigned, StatusInvestigating, StatusInvestigated,
	StatusApproved, StatusRejected, StatusPaymentInitiated, StatusPaid,
}

// Final reports whether no event may follow.
func (s Status) Final() bool { return s == StatusRejected || s == StatusPaid }

// Decided reports whether the claim was approved or rejected.
func (s Status) Decided() bool {
	return s == StatusApproved || s == StatusRejected || s == StatusPaymentInitiated || s == StatusPaid
}

func (s Status) String() string {
	if s == StatusNone {
		return "new"
	}
	return string(s)
}

// Claim is the state of one claim, folded from its events.
type Claim struct {
	ID              string    `json:"id"`
	Status          Status    `json:"status"`
	Version         int64     `json:"version"`
	CustomerID      string    `json:"customer_id"`
	PolicyID        string    `json:"policy_id"`
	ClaimType       string    `json:"claim_type"`
	IncidentDate    string    `json:"incident_date"`
	Description     string    `json:"description"`
	Amount          float64   `json:"amount"`
	ApprovedAmount  float64   `json:"approved_amount,omitempty"`
	PaidAmount      float64   `json:"paid_amount,omitempty"`
	Adjuster        string    `json:"adjuster,omitempty"`
	Documents       int       `json:"documents"`
	Findings        string    `json:"findings,omitempty"`
	FraudRisk       string    `json:"fraud_risk,omitempty"`
	RejectionReason string    `json:"rejection_reason,omitempty"`
	RejectionCode   string    `json:"rejection_code,omitempty"`
	PaymentID       string    `json:"payment_id,omitempty"`
	SubmittedAt     time.Time `json:"submitted_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	DecidedAt       time.Time `json:"decided_at,omitzero"`
	PaidAt          time.Time `json:"paid_at,omitzero"`
	Entries         []string  `json:"entries"` // stream ids of its events, in order
	// Trimmed: its first events were trimmed from the stream, so only what
	// the write side keeps is known (version, status, amounts, payment).
	Trimmed bool `json:"trimmed,omitempty"`
}

// allowedFrom says, per event type, which statuses it may follow.
var allowedFrom = map[EventType][]Status{
	ClaimSubmitted:    {StatusNone},
	ClaimAssigned:     {StatusSubmitted, StatusAssigned},
	DocumentUploaded:  {StatusSubmitted, StatusAssigned, StatusInvestigating},
	ClaimInvestigated: {StatusAssigned, StatusInvestigating},
	ClaimApproved:     {StatusInvestigated},
	ClaimRejected:     {StatusSubmitted, StatusAssigned, StatusInvestigating, StatusInvestigated},
	PaymentInitiated:  {StatusApproved},
	PaymentCompleted:  {StatusPaymentInitiated},
}

// CheckTransition says whether an event of type t (with payload data) may
// follow the claim's current state. It checks cross-event rules too:
// approved amount within the claimed amount, payment equal to the approval.
func (c *Claim) CheckTransition(t EventType, data map[string]any) error {
	if _, ok := allowedFrom[t]; !ok {
		return &ValidationError{Type: t, Rule: fmt.Sprintf("is not an event type (want one of %s)", JoinTypes())}
	}
	allowed := AllowedStatuses(t, data)
	permitted := false
	for _, s := range allowed {
		if c.Status == s {
			permitted = true
		}
	}
	if !permitted {
		return &TransitionError{ClaimID: c.ID, From: c.Status, Event: t, Need: NeedWords(allowed)}
	}
	switch t {
	case ClaimApproved:
		if amt, _ := ToFloat(data["approved_amount"]); amt > c.Amount {
			return &ValidationError{Type: t, Field: "approved_amount", Rule: fmt.Sprintf("must be at most the claimed amount %s, got %s", FormatAmount(c.Amount), FormatAmount(amt))}
		}
	case PaymentInitiated:
		if amt, _ := ToFloat(data["amount"]); amt != c.ApprovedAmount {
			return &ValidationError{Type: t, Field: "amount", Rule: fmt.Sprintf("must equal the approved amount %s, got %s", FormatAmount(c.ApprovedAmount), FormatAmount(amt))}
		}
	case PaymentCompleted:
		if id, _ := data["payment_id"].(string); id != c.PaymentID {
			return &ValidationError{Type: t, Field: "payment_id", Rule: fmt.Sprintf("must be the initiated payment %s, got %q", c.PaymentID, id)}
		}
		if amt, _ := ToFloat(data["amount"]); amt != c.ApprovedAmount {
			return &ValidationError{Type: t, Field: "amount", Rule: fmt.Sprintf("must equal the approved amount %s, got %s", FormatAmount(c.ApprovedAmount), FormatAmount(amt))}
		}
	}
	return nil
}

func NeedWords(allowed []Status) string {
	if len(allowed) == 1 && allowed[0] == StatusNone {
		return "a new claim id"
	}
	words := make([]string, len(allowed))
	for i, s := range allowed {
		words[i] = s.String()
	}
	article := "a"
	if strings.ContainsAny(words[0][:1], "aeiou") {
		article = "an"
	}
	if len(words) == 1 {
		return fmt.Sprintf("%s %s claim", article, words[0])
	}
	return fmt.Sprintf("a claim that is %s or %s", strings.Join(words[:len(words)-1], ", "), words[len(words)-1])
}

// PaymentID is the payment id a payment gets unless its command names
// one: PAY- and the first 8 hex digits of the uuid id.
func PaymentID(id string) string { return "PAY-" + strings.ToUpper(id[:min(8, len(id))]) }

// Defaults fills the payload fields a command may leave out because the
// claim's state already knows them: the payment's amount, id and method.
// It also reads an amount's float noise as the cents it means
// (nearestCents), so that c.amount * 0.85 approves whole cents. The
// caller's map is not changed: the result is data itself when there is
// nothing to fill or round, a copy otherwise.
func (c *Claim) Defaults(t EventType, data map[string]any) map[string]any {
	// Copied on the first change only: a claim.submitted, the most
	// common command, has nothing to fill, and the payload is copied
	// once more anyway (Normalize) before it is kept.
	out, copied := data, false
	set := func(k string, v any) {
		if !copied {
			out, copied = make(map[string]any, len(data)+3), true
			for k, v := range data {
				out[k] = v
			}
		}
		out[k] = v
	}
	for _, r := range schemas[t] {
		if f, ok := out[r.name].(float64); ok && r.kind == kindAmount {
			if cents := nearestCents(f); cents != f {
				set(r.name, cents)
			}
		}
	}
	setDefault := func(k string, v any) {
		if _, ok := out[k]; !ok {
			set(k, v)
		}
	}
	switch t {
	case ClaimInvestigated:
		setDefault("phase", "completed")
	case PaymentInitiated:
		setDefault("amount", c.ApprovedAmount)
		setDefault("method", "bank_transfer")
		setDefault("payment_id", "PAY-"+strings.ToUpper(uuid.NewString()[:8]))
	case PaymentCompleted:
		setDefault("amount", c.ApprovedAmount)
		setDefault("payment_id", c.PaymentID)
	}
	if out == nil {
		out = map[string]any{}
	}
	return out
}

// Apply folds one event into the claim. It refuses an event whose version
// does not follow the claim's, or whose type the status does not allow.
func (c *Claim) Apply(e Event) error {
	if c.ID == "" {
		c.ID = e.ClaimID
	}
	if e.ClaimID != c.ID {
		return fmt.Errorf("apply %s of claim %s to claim %s: %w", e.Type, e.ClaimID, c.ID, ErrInvalidTransition)
	}
	if e.Version != c.Version+1 {
		return fmt.Errorf("apply %s v%d to claim %s at v%d: %w", e.Type, e.Version, c.ID, c.Version, ErrConflict)
	}
	if err := c.CheckTransition(e.Type, e.Data); err != nil {
		return err
	}
	c.Status = NextStatus(c.Status, e)
	switch e.Type {
	case ClaimSubmitted:
		c.CustomerID = e.String("customer_id")
		c.PolicyID = e.String("policy_id")
		c.ClaimType = e.String("claim_type")
		c.IncidentDate = e.String("incident_date")
		c.Description = e.String("description")
		c.Amount = e.Number("amount")
		c.SubmittedAt = e.OccurredAt
	case ClaimAssigned:
		c.Adjuster = e.String("adjuster")
	case DocumentUploaded:
		c.Documents++
	case ClaimInvestigated:
		if e.String("phase") != "started" {
			c.Findings = e.String("findings")
		}
		if r := e.String("fraud_risk"); r != "" {
			c.FraudRisk = r
		}
	case ClaimApproved:
		c.ApprovedAmount = e.Number("approved_amount")
		c.DecidedAt = e.OccurredAt
	case ClaimRejected:
		c.RejectionReason = e.String("reason")
		c.RejectionCode = e.String("code")
		c.DecidedAt = e.OccurredAt
	case PaymentInitiated:
		c.PaymentID = e.String("payment_id")
	case PaymentCompleted:
		c.PaidAmount = e.Number("amount")
		c.PaidAt = e.OccurredAt
	}
	c.Version = e.Version
	c.UpdatedAt = e.OccurredAt
	if e.ID != "" {
		c.Entries = append(c.Entries, e.ID)
	}
	return nil
}

// NextStatus is the status a claim in status from moves to with event e:
// the one place that knows which event leads where (a document leaves the
// status as it is). It does not check that the transition is allowed;
// CheckTransition does.
func NextStatus(from Status, e Event) Status {
	switch e.Type {
	case ClaimSubmitted:
		return StatusSubmitted
	case ClaimAssigned:
		return StatusAssigned
	case ClaimInvestigated:
		if e.String("phase") == "started" {
			return StatusInvestigating
		}
		return StatusInvestigated
	case ClaimApproved:
		return StatusApproved
	case ClaimRejected:
		return StatusRejected
	case PaymentInitiated:
		return StatusPaymentInitiated
	case PaymentCompleted:
		return StatusPaid
	}
	return from
}

// Fold builds a claim from its events in order.
func Fold(events []Event) (*Claim, error) {
	c := &Claim{}
	for _, e := range events {
		if err := c.Apply(e); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// AllowedStatuses are the statuses an event may follow, given its payload:
// an investigation can only start on an assigned claim.
func AllowedStatuses(t EventType, data map[string]any) []Status {
	if phase, _ := data["phase"].(string); t == ClaimInvestigated && phase == "started" {
		return []Status{StatusAssigned}
	}
	return allowedFrom[t]
}

// AllowedFrom lists the statuses an event type may follow.
func AllowedFrom(t EventType) []Status { return append([]Status(nil), allowedFrom[t]...) }
