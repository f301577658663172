package claims

import (
	"errors"
	"maps"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// schemaNow is the reference time of the schema tests: 2026-11-25 is today.
var schemaNow = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// validPayloads holds one valid payload per event type, with every optional
// field set so that each can be broken in turn.
func validPayloads() map[EventType]map[string]any {
	return map[EventType]map[string]any{
		ClaimSubmitted: {
			"customer_id": "CUST-0001", "policy_id": "POL-0001", "amount": 2500.0,
			"claim_type": "auto", "incident_date": "2026-11-20", "description": "rear-ended at a light",
		},
		ClaimAssigned:     {"adjuster": "ADJ-001", "note": "least loaded"},
		DocumentUploaded:  {"document_type": "photo", "filename": "bumper.jpg", "note": "front"},
		ClaimInvestigated: {"phase": "completed", "findings": "damage matches", "fraud_risk": "low"},
		ClaimApproved:     {"approved_amount": 2000.0, "note": "depreciation"},
		ClaimRejected:     {"reason": "policy POL-9 not found", "code": "policy_not_found"},
		PaymentInitiated:  {"payment_id": "PAY-1", "amount": 2000.0, "method": "bank_transfer"},
		PaymentCompleted:  {"payment_id": "PAY-1", "amount": 2000.0},
	}
}

func withField(data map[string]any, kv ...any) map[string]any {
	out := maps.Clone(data)
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func withoutField(data map[string]any, keys ...string) map[string]any {
	out := maps.Clone(data)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// requireValidation checks err is a *ValidationError for field whose
// message names the type, the field and the rule.
func requireValidation(t *testing.T, err error, typ EventType, field, rule string) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalid)
	assert.NotErrorIs(t, err, ErrInvalidTransition)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, typ, ve.Type)
	assert.Equal(t, field, ve.Field)
	assert.Contains(t, ve.Rule, rule)
	msg := err.Error()
	assert.Contains(t, msg, string(typ))
	if field != "" {
		assert.Contains(t, msg, field)
	}
	assert.Contains(t, msg, rule)
	assert.Contains(t, msg, "nothing written")
}

func TestValidateDataAcceptsValidPayloads(t *testing.T) {
	t.Parallel()
	for typ, data := range validPayloads() {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			before := maps.Clone(data)
			assert.NoError(t, ValidateData(typ, data, schemaNow))
			assert.Equal(t, before, data, "validation does not change its input")
			required, _ := SchemaFields(typ)
			minimal := map[string]any{}
			for _, f := range required {
				minimal[f] = data[f]
			}
			if typ == ClaimInvestigated {
				minimal["phase"] = "started" // findings are needed only when completed
			}
			assert.NoError(t, ValidateData(typ, minimal, schemaNow), "required fields only")
		})
	}
}

func TestValidateDataRequiredFields(t *testing.T) {
	t.Parallel()
	want := map[EventType][]string{
		ClaimSubmitted:    {"customer_id", "policy_id", "amount", "claim_type", "incident_date", "description"},
		ClaimAssigned:     {"adjuster"},
		DocumentUploaded:  {"document_type", "filename"},
		ClaimInvestigated: {"phase"},
		ClaimApproved:     {"approved_amount"},
		ClaimRejected:     {"reason"},
		PaymentInitiated:  {"payment_id", "amount", "method"},
		PaymentCompleted:  {"payment_id", "amount"},
	}
	require.Len(t, want, len(EventTypes), "every event type has a case")
	payloads := validPayloads()
	for _, typ := range EventTypes {
		required, _ := SchemaFields(typ)
		assert.ElementsMatch(t, want[typ], required, "required fields of %s", typ)
		for _, field := range want[typ] {
			t.Run(string(typ)+"/"+field, func(t *testing.T) {
				t.Parallel()
				missing := withoutField(payloads[typ], field)
				requireValidation(t, ValidateData(typ, missing, schemaNow), typ, field, "is required")
				// A nil value (Lua's nil in a table) is as good as missing.
				requireValidation(t, ValidateData(typ, withField(payloads[typ], field, nil), schemaNow), typ, field, "is required")
			})
		}
	}
}

func TestValidateDataRules(t *testing.T) {
	t.Parallel()
	p := validPayloads()
	sub, inv, pay := p[ClaimSubmitted], p[ClaimInvestigated], p[PaymentInitiated]
	tests := []struct {
		name  string
		typ   EventType
		data  map[string]any
		field string
		rule  string
	}{
		// numbers
		{"amount zero", ClaimSubmitted, withField(sub, "amount", 0.0), "amount", "must be greater than 0, got 0"},
		{"amount negative", ClaimSubmitted, withField(sub, "amount", -5.0), "amount", "must be greater than 0, got -5"},
		{"amount NaN", ClaimSubmitted, withField(sub, "amount", math.NaN()), "amount", "must be greater than 0"},
		{"amount +Inf", ClaimSubmitted, withField(sub, "amount", math.Inf(1)), "amount", "must be greater than 0"},
		{"amount above max", ClaimSubmitted, withField(sub, "amount", 10_000_000.01), "amount", "must be at most 10000000, got 10000000.01"},
		{"amount as string", ClaimSubmitted, withField(sub, "amount", "2500"), "amount", `must be a number, got "2500"`},
		{"amount as bool", ClaimSubmitted, withField(sub, "amount", true), "amount", "must be a number, got a boolean (true)"},
		{"approved amount zero", ClaimApproved, withField(p[ClaimApproved], "approved_amount", 0.0), "approved_amount", "must be greater than 0"},
		{"payment amount negative", PaymentInitiated, withField(pay, "amount", -1.0), "amount", "must be greater than 0"},
		{"completed amount NaN", PaymentCompleted, withField(p[PaymentCompleted], "amount", math.NaN()), "amount", "must be greater than 0"},
		// strings
		{"empty customer", ClaimSubmitted, withField(sub, "customer_id", "   "), "customer_id", "must not be empty"},
		{"customer as number", ClaimSubmitted, withField(sub, "customer_id", 42.0), "customer_id", "must be a string, got 42"},
		{"customer as table", ClaimSubmitted, withField(sub, "customer_id", map[string]any{}), "customer_id", "must be a string, got a table"},
		{"description too long", ClaimSubmitted, withField(sub, "description", strings.Repeat("x", 2001)), "description", "must be at most 2000 characters, got 2001"},
		{"adjuster too long", ClaimAssigned, withField(p[ClaimAssigned], "adjuster", strings.Repeat("a", 201)), "adjuster", "must be at most 200 characters, got 201"},
		{"note too long", ClaimAssigned, withField(p[ClaimAssigned], "note", strings.Repeat("n", 201)), "note", "must be at most 200 characters"},
		// enums
		{"claim type", ClaimSubmitted, withField(sub, "claim_type", "boat"), "claim_type", `must be one of auto, home, health, life, property, travel, liability, got "boat"`},
		{"claim type case", ClaimSubmitted, withField(sub, "claim_type", "Auto"), "claim_type", "must be one of"},
		{"document type", DocumentUploaded, withField(p[DocumentUploaded], "document_type", "selfie"), "document_type", `got "selfie"`},
		{"phase", ClaimInvestigated, withField(inv, "phase", "halfway"), "phase", `must be one of started, completed, got "halfway"`},
		{"fraud risk", ClaimInvestigated, withField(inv, "fraud_risk", "extreme"), "fraud_risk", "must be one of low, medium, high"},
		{"rejection code", ClaimRejected, withField(p[ClaimRejected], "code", "bored"), "code", "must be one of policy_not_found"},
		{"payment method", PaymentInitiated, withField(pay, "method", "cash"), "method", "must be one of bank_transfer, check, card"},
		// dates
		{"date format", ClaimSubmitted, withField(sub, "incident_date", "20-11-2026"), "incident_date", `must be a date like 2026-11-20, got "20-11-2026"`},
		{"date with time", ClaimSubmitted, withField(sub, "incident_date", "2026-11-20T10:00:00Z"), "incident_date", "must be a date like"},
		{"date impossible", ClaimSubmitted, withField(sub, "incident_date", "2026-02-30"), "incident_date", "must be a date like"},
		{"date in future", ClaimSubmitted, withField(sub, "incident_date", "2026-11-26"), "incident_date", "must not be in the future, got 2026-11-26"},
		{"date as number", ClaimSubmitted, withField(sub, "incident_date", 20261120.0), "incident_date", "must be a string"},
		// unknown fields
		{"unknown field", ClaimSubmitted, withField(sub, "amout", 1.0), "amout", "is not a field of this event (fields: customer_id, policy_id, amount, claim_type, incident_date, description)"},
		{"unknown fields sorted", ClaimAssigned, withField(p[ClaimAssigned], "zeta", 1.0, "alpha", 2.0), "alpha", "is not a field of this event"},
		{"unknown before missing", ClaimApproved, map[string]any{"amount": 5.0}, "amount", "is not a field of this event (fields: approved_amount, note)"},
		// cross-field
		{"completed needs findings", ClaimInvestigated, withoutField(inv, "findings"), "findings", "is required when phase is completed"},
		{"completed blank findings", ClaimInvestigated, withField(inv, "findings", "  "), "findings", "is required when phase is completed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireValidation(t, ValidateData(tt.typ, tt.data, schemaNow), tt.typ, tt.field, tt.rule)
		})
	}
}

func TestValidateDataBoundaries(t *testing.T) {
	t.Parallel()
	sub := validPayloads()[ClaimSubmitted]
	tests := []struct {
		name string
		typ  EventType
		data map[string]any
	}{
		{"amount at max", ClaimSubmitted, withField(sub, "amount", 10_000_000.0)},
		{"smallest amount", ClaimSubmitted, withField(sub, "amount", 0.01)},
		{"amount as int", ClaimSubmitted, withField(sub, "amount", 2500)},
		{"amount as int64", ClaimSubmitted, withField(sub, "amount", int64(2500))},
		{"incident today", ClaimSubmitted, withField(sub, "incident_date", "2026-11-25")},
		{"description at limit", ClaimSubmitted, withField(sub, "description", strings.Repeat("x", 2000))},
		{"started without findings", ClaimInvestigated, map[string]any{"phase": "started"}},
		{"optional nil", ClaimAssigned, map[string]any{"adjuster": "ADJ-1", "note": nil}},
		{"optional empty", ClaimAssigned, map[string]any{"adjuster": "ADJ-1", "note": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.NoError(t, ValidateData(tt.typ, tt.data, schemaNow))
		})
	}
}

func TestValidateDataUnknownType(t *testing.T) {
	t.Parallel()
	err := ValidateData("claim.exploded", map[string]any{}, schemaNow)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "claim.exploded is not an event type")
	assert.Contains(t, err.Error(), string(ClaimSubmitted), "lists the valid types")
}

func TestValidationErrorIsNotARedisFailure(t *testing.T) {
	t.Parallel()
	err := ValidateData(ClaimSubmitted, map[string]any{}, schemaNow)
	assert.True(t, errors.Is(err, ErrInvalid))
	assert.False(t, errors.Is(err, ErrConflict))
	assert.False(t, errors.Is(err, ErrNotFound))
}

func TestSchemaFieldsOptional(t *testing.T) {
	t.Parallel()
	_, optional := SchemaFields(ClaimInvestigated)
	assert.Equal(t, []string{"findings", "fraud_risk"}, optional)
	required, optional := SchemaFields("claim.exploded")
	assert.Empty(t, required)
	assert.Empty(t, optional)
}
