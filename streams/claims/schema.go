package claims

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

type fieldKind int

const (
	kindString fieldKind = iota
	kindNumber
	kindDate
	kindEnum
)

type fieldRule struct {
	name     string
	kind     fieldKind
	required bool
	values   []string // kindEnum
	maxLen   int      // kindString; 0 means 200
}

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
		{name: "customer_id", kind: kindString, required: true},
		{name: "policy_id", kind: kindString, required: true},
		{name: "amount", kind: kindNumber, required: true},
		{name: "claim_type", kind: kindEnum, required: true, values: ClaimTypes},
		{name: "incident_date", kind: kindDate, required: true},
		{name: "description", kind: kindString, required: true, maxLen: maxDescriptionLength},
	},
	ClaimAssigned: {
		{name: "adjuster", kind: kindString, required: true},
		{name: "note", kind: kindString},
	},
	DocumentUploaded: {
		{name: "document_type", kind: kindEnum, required: true, values: DocumentTypes},
		{name: "filename", kind: kindString, required: true},
		{name: "note", kind: kindString},
	},
	ClaimInvestigated: {
		{name: "phase", kind: kindEnum, required: true, values: []string{"started", "completed"}},
		{name: "findings", kind: kindString, maxLen: maxDescriptionLength},
		{name: "fraud_risk", kind: kindEnum, values: []string{"low", "medium", "high"}},
	},
	ClaimApproved: {
		{name: "approved_amount", kind: kindNumber, required: true},
		{name: "note", kind: kindString},
	},
	ClaimRejected: {
		{name: "reason", kind: kindString, required: true, maxLen: maxDescriptionLength},
		{name: "code", kind: kindEnum, values: RejectionCodes},
	},
	PaymentInitiated: {
		{name: "payment_id", kind: kindString, required: true},
		{name: "amount", kind: kindNumber, required: true},
		{name: "method", kind: kindEnum, required: true, values: PaymentMethods},
	},
	PaymentCompleted: {
		{name: "payment_id", kind: kindString, required: true},
		{name: "amount", kind: kindNumber, required: true},
	},
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
	known := map[string]bool{}
	for _, r := range rules {
		known[r.name] = true
	}
	var unknown []string
	for k := range data {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		names := make([]string, 0, len(rules))
		for _, r := range rules {
			names = append(names, r.name)
		}
		return &ValidationError{Type: t, Field: unknown[0], Rule: fmt.Sprintf("is not a field of this event (fields: %s)", strings.Join(names, ", "))}
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

func (r fieldRule) check(t EventType, v any, now time.Time) error {
	fail := func(rule string, args ...any) error {
		return &ValidationError{Type: t, Field: r.name, Rule: fmt.Sprintf(rule, args...)}
	}
	switch r.kind {
	case kindNumber:
		f, ok := ToFloat(v)
		if !ok {
			return fail("must be a number, got %s", describe(v))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
			return fail("must be greater than 0, got %s", FormatAmount(f))
		}
		if f > MaxClaimAmount {
			return fail("must be at most %s, got %s", FormatAmount(MaxClaimAmount), FormatAmount(f))
		}
	case kindString, kindEnum, kindDate:
		s, ok := v.(string)
		if !ok {
			return fail("must be a string, got %s", describe(v))
		}
		s = strings.TrimSpace(s)
		if r.required && s == "" {
			return fail("must not be empty")
		}
		switch r.kind {
		case kindString:
			limit := r.maxLen
			if limit == 0 {
				limit = 200
			}
			if len(s) > limit {
				return fail("must be at most %d characters, got %d", limit, len(s))
			}
		case kindEnum:
			for _, ok := range r.values {
				if s == ok {
					return nil
				}
			}
			return fail("must be one of %s, got %q", strings.Join(r.values, ", "), s)
		case kindDate:
			d, err := time.Parse(DateLayout, s)
			if err != nil {
				return fail("must be a date like 2026-11-20, got %q", s)
			}
			if d.After(now.UTC()) {
				return fail("must not be in the future, got %s", s)
			}
		}
	}
	return nil
}

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
		return fmt.Sprintf("%q", x)
	case bool:
		return fmt.Sprintf("a boolean (%v)", x)
	case map[string]any, []any:
		return "a table"
	}
	return fmt.Sprintf("%v", v)
}

func JoinTypes() string {
	names := make([]string, len(EventTypes))
	for i, t := range EventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}
