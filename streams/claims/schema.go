package claims

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

type fieldKind int

const (
	kindText   fieldKind = iota // UTF-8 text without control characters
	kindID                      // an id: NameRule
	kindAmount                  // money: whole cents, > 0, at most MaxClaimAmount
	kindDate                    // a calendar date, from MinIncidentDate, not in the future
	kindEnum                    // one of values
)

type fieldRule struct {
	name     string
	kind     fieldKind
	required bool
	values   []string // kindEnum
	maxLen   int      // kindText; 0 means DefaultTextLength
	also     string   // a rule checked elsewhere (state machine, defaults), in words
}

// DefaultTextLength bounds a text field (a note, a filename, an adjuster)
// that sets no limit of its own; MaxDescriptionLength bounds the long ones
// (description, findings, reason).
const DefaultTextLength = 200

// MinIncidentDate is the earliest incident date a claim may give.
var MinIncidentDate = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// ClaimTypes are the kinds of claim a policy can cover.
var ClaimTypes = []string{"auto", "home", "health", "life", "property", "travel", "liability"}

// DocumentTypes are the documents an adjuster accepts.
var DocumentTypes = []string{"photo", "police_report", "estimate", "invoice", "receipt", "medical_report", "other"}

// PaymentMethods are the ways a claim can be paid.
var PaymentMethods = []string{"bank_transfer", "check", "card"}

// RejectionCodes classify why a claim was rejected.
var RejectionCodes = []string{"policy_not_found", "policy_inactive", "exceeds_coverage", "not_covered", "outside_policy_period", "fraud", "duplicate", "other"}

var schemas = map[EventType][]fieldRule{
	ClaimSubmitted: {
		{name: "customer_id", kind: kindID, required: true},
		{name: "policy_id", kind: kindID, required: true},
		{name: "amount", kind: kindAmount, required: true},
		{name: "claim_type", kind: kindEnum, required: true, values: ClaimTypes},
		{name: "incident_date", kind: kindDate, required: true},
		{name: "description", kind: kindText, required: true, maxLen: MaxDescriptionLength},
	},
	ClaimAssigned: {
		{name: "adjuster", kind: kindText, required: true},
		{name: "note", kind: kindText},
	},
	DocumentUploaded: {
		{name: "document_type", kind: kindEnum, required: true, values: DocumentTypes},
		{name: "filename", kind: kindText, required: true},
		{name: "note", kind: kindText},
	},
	ClaimInvestigated: {
		{name: "phase", kind: kindEnum, required: true, values: []string{"started", "completed"}, also: "investigate() defaults it to completed"},
		{name: "findings", kind: kindText, maxLen: MaxDescriptionLength, also: "required when phase is completed"},
		{name: "fraud_risk", kind: kindEnum, values: []string{"low", "medium", "high"}},
	},
	ClaimApproved: {
		{name: "approved_amount", kind: kindAmount, required: true, also: "at most the claimed amount"},
		{name: "note", kind: kindText},
	},
	ClaimRejected: {
		{name: "reason", kind: kindText, required: true, maxLen: MaxDescriptionLength},
		{name: "code", kind: kindEnum, values: RejectionCodes},
	},
	PaymentInitiated: {
		{name: "payment_id", kind: kindID, required: true, also: "pay() makes a new one, PAY-XXXXXXXX"},
		{name: "amount", kind: kindAmount, required: true, also: "equal to the approved amount, pay()'s default"},
		{name: "method", kind: kindEnum, required: true, values: PaymentMethods, also: "pay() defaults it to bank_transfer"},
	},
	PaymentCompleted: {
		{name: "payment_id", kind: kindID, required: true, also: "the initiated payment's, settle()'s default"},
		{name: "amount", kind: kindAmount, required: true, also: "equal to the approved amount, settle()'s default"},
	},
}

// FieldRule is one payload field of an event type with its rule in words,
// as schema() and docs/lua-api.md show it.
type FieldRule struct {
	Name     string
	Required bool
	Rule     string
}

// FieldRules lists the payload fields of an event type in schema order,
// each with the rule ValidateData checks (and any checked elsewhere).
func FieldRules(t EventType) []FieldRule {
	out := make([]FieldRule, 0, len(schemas[t]))
	for _, r := range schemas[t] {
		words := r.words()
		if r.also != "" {
			words += "; " + r.also
		}
		out = append(out, FieldRule{Name: r.name, Required: r.required, Rule: words})
	}
	return out
}

// The rules in words, for schema(), the docs and messages.
var (
	AmountRule = fmt.Sprintf("a number above 0 in whole cents (at most two decimals), at most %s", FormatAmount(MaxClaimAmount))
	DateRule   = fmt.Sprintf("a calendar date like 2026-11-20, from %s on, not in the future", MinIncidentDate.Format(DateLayout))
)

// TextRule is the rule of a text field of at most limit characters.
func TextRule(limit int) string {
	return fmt.Sprintf("text of at most %d characters (Unicode code points), without control characters", limit)
}

func (r fieldRule) words() string {
	switch r.kind {
	case kindText:
		return TextRule(cmp.Or(r.maxLen, DefaultTextLength))
	case kindID:
		return "an id of " + NameRule
	case kindAmount:
		return AmountRule
	case kindDate:
		return DateRule
	}
	return "one of " + strings.Join(r.values, ", ")
}

// SchemaFields lists the payload fields of an event type, required first.
func SchemaFields(t EventType) (required, optional []string) {
	for _, r := range schemas[t] {
		if r.required {
			required = append(required, r.name)
		} else {
			optional = append(optional, r.name)
		}
	}
	return required, optional
}

// ValidateData checks a payload against its type's schema: required fields,
// types, ranges and enums; unknown fields are refused so typos are caught.
// now is the reference for "not in the future".
func ValidateData(t EventType, data map[string]any, now time.Time) error {
	rules, ok := schemas[t]
	if !ok {
		return &ValidationError{Type: t, Rule: fmt.Sprintf("is not an event type (want one of %s)", JoinTypes())}
	}
	var unknown []string
	for k := range data {
		if !slices.ContainsFunc(rules, func(r fieldRule) bool { return r.name == k }) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		names := make([]string, 0, len(rules))
		for _, r := range rules {
			names = append(names, r.name)
		}
		return &ValidationError{Type: t, Field: fieldName(unknown[0]), Rule: fmt.Sprintf("is not a field of this event (fields: %s)", strings.Join(names, ", "))}
	}
	for _, r := range rules {
		v, present := data[r.name]
		if !present || v == nil {
			if r.required {
				return &ValidationError{Type: t, Field: r.name, Rule: "is required"}
			}
			continue
		}
		if err := r.check(t, v, now); err != nil {
			return err
		}
	}
	if t == ClaimInvestigated && data["phase"] == "completed" {
		if s, _ := data["findings"].(string); strings.TrimSpace(s) == "" {
			return &ValidationError{Type: t, Field: "findings", Rule: "is required when phase is completed"}
		}
	}
	return nil
}

// fieldName shows a field name a caller made up as it is when it could be
// a field (a typo such as amout), and quoted otherwise.
func fieldName(k string) string {
	if len(k) <= MaxNameLength && nameProblem(k, "_") == "" {
		return k
	}
	return Quote(k)
}

func (r fieldRule) check(t EventType, v any, now time.Time) error {
	fail := func(rule string, args ...any) error {
		return &ValidationError{Type: t, Field: r.name, Rule: fmt.Sprintf(rule, args...)}
	}
	if r.kind == kindAmount {
		f, ok := ToFloat(v)
		if !ok {
			return fail("must be a number, got %s", describe(v))
		}
		if rule := amountProblem(f); rule != "" {
			return fail("%s", rule)
		}
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return fail("must be a string, got %s", describe(v))
	}
	if r.required && strings.TrimSpace(s) == "" {
		return fail("must not be empty")
	}
	switch r.kind {
	case kindText:
		if rule := textProblem(s, cmp.Or(r.maxLen, DefaultTextLength)); rule != "" {
			return fail("%s", rule)
		}
	case kindID:
		if rule := nameProblem(s, nameSymbols); rule != "" {
			return fail("%s", rule)
		}
	case kindEnum:
		if !slices.Contains(r.values, s) {
			return fail("must be one of %s, got %s", strings.Join(r.values, ", "), Quote(s))
		}
	case kindDate:
		d, err := time.Parse(DateLayout, s)
		switch {
		case err != nil:
			return fail("must be a date like 2026-11-20, got %s", Quote(s))
		case d.Before(MinIncidentDate):
			return fail("must be on or after %s, got %s", MinIncidentDate.Format(DateLayout), s)
		case d.After(now.UTC()):
			return fail("must not be in the future, got %s", s)
		}
	}
	return nil
}

// amountProblem is the rule of every amount, or "": a finite number above
// 0, in whole cents, at most MaxClaimAmount.
func amountProblem(f float64) string {
	switch {
	case math.IsNaN(f):
		return "must be a number, got NaN (not a number)"
	case math.IsInf(f, 0):
		return "must be a finite number, got " + FormatNumber(f)
	case f <= 0:
		return "must be greater than 0, got " + FormatNumber(f)
	case f > MaxClaimAmount:
		return fmt.Sprintf("must be at most %s, got %s", FormatAmount(MaxClaimAmount), FormatNumber(f))
	case !WholeCents(f):
		return "must have at most two decimals (whole cents), got " + FormatNumber(f)
	}
	return ""
}

// WholeCents reports whether f is an amount of whole cents: the float64
// nearest to some number with at most two decimals.
func WholeCents(f float64) bool { return math.Round(f*100)/100 == f }

// nearestCents reads float noise as the cents it stands for (1234 * 0.85 is
// 1048.8999999999999 in float64, meaning 1048.90). Noise is relative to the
// amount, a few units in the last place: anything further from whole cents
// (0.001, 1e-9) is left as it is, for the schema to refuse.
func nearestCents(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	cents := math.Round(f * 100)
	if math.Abs(f*100-cents) <= 1e-12*math.Abs(cents) {
		return cents / 100
	}
	return f
}

// ToFloat reads a JSON-shaped number (float64, or an int from Go callers).
func ToFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return Quote(x)
	case bool:
		return fmt.Sprintf("a boolean (%v)", x)
	case map[string]any, []any:
		return "a table"
	case float64:
		return FormatNumber(x)
	}
	return fmt.Sprintf("%v", v)
}

// JoinTypes lists the event types for a message.
func JoinTypes() string {
	names := make([]string, len(EventTypes))
	for i, t := range EventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}
