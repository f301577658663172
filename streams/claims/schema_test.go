package claims

import (
	"errors"
	"maps"
	"math"
	"slices"
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
		{"amount NaN", ClaimSubmitted, withField(sub, "amount", math.NaN()), "amount", "must be a number, got NaN (not a number)"},
		{"amount +Inf", ClaimSubmitted, withField(sub, "amount", math.Inf(1)), "amount", "must be a finite number, got infinity"},
		{"amount -Inf", ClaimSubmitted, withField(sub, "amount", math.Inf(-1)), "amount", "must be a finite number, got -infinity"},
		{"amount above max", ClaimSubmitted, withField(sub, "amount", 10_000_000.01), "amount", "must be at most 10000000, got 10000000.01"},
		// Lua's math.huge is the largest float64: no 309-digit number.
		{"amount math.huge", ClaimSubmitted, withField(sub, "amount", math.MaxFloat64), "amount", "must be at most 10000000, got 1.79769e+308"},
		{"amount 1e300", ClaimSubmitted, withField(sub, "amount", 1e300), "amount", "must be at most 10000000, got 1e+300"},
		{"amount below a cent", ClaimSubmitted, withField(sub, "amount", 1e-9), "amount", "must have at most two decimals (whole cents), got 1e-09"},
		{"amount a tenth of a cent", ClaimSubmitted, withField(sub, "amount", 0.001), "amount", "must have at most two decimals (whole cents), got 0.001"},
		{"amount half a cent", ClaimSubmitted, withField(sub, "amount", 2500.005), "amount", "got 2500.005"},
		{"approved amount below a cent", ClaimApproved, withField(p[ClaimApproved], "approved_amount", 0.001), "approved_amount", "must have at most two decimals"},
		{"payment amount three decimals", PaymentInitiated, withField(pay, "amount", 12.345), "amount", "must have at most two decimals"},
		{"amount as string", ClaimSubmitted, withField(sub, "amount", "2500"), "amount", `must be a number, got "2500"`},
		{"amount as bool", ClaimSubmitted, withField(sub, "amount", true), "amount", "must be a number, got a boolean (true)"},
		{"approved amount zero", ClaimApproved, withField(p[ClaimApproved], "approved_amount", 0.0), "approved_amount", "must be greater than 0"},
		{"payment amount negative", PaymentInitiated, withField(pay, "amount", -1.0), "amount", "must be greater than 0"},
		{"completed amount NaN", PaymentCompleted, withField(p[PaymentCompleted], "amount", math.NaN()), "amount", "got NaN"},
		// strings
		{"empty customer", ClaimSubmitted, withField(sub, "customer_id", "   "), "customer_id", "must not be empty"},
		{"customer as number", ClaimSubmitted, withField(sub, "customer_id", 42.0), "customer_id", "must be a string, got 42"},
		{"customer as table", ClaimSubmitted, withField(sub, "customer_id", map[string]any{}), "customer_id", "must be a string, got a table"},
		{"description too long", ClaimSubmitted, withField(sub, "description", strings.Repeat("x", 2001)), "description", "must be at most 2000 characters, got 2001"},
		{"adjuster too long", ClaimAssigned, withField(p[ClaimAssigned], "adjuster", strings.Repeat("a", 201)), "adjuster", "must be at most 200 characters, got 201"},
		{"note too long", ClaimAssigned, withField(p[ClaimAssigned], "note", strings.Repeat("n", 201)), "note", "must be at most 200 characters"},
		// Characters are code points: 2001 of 'é' are 4002 bytes.
		{"description too long in characters", ClaimSubmitted, withField(sub, "description", strings.Repeat("é", 2001)), "description", "must be at most 2000 characters, got 2001"},
		// text: no control characters anywhere (terminal injection)
		{"description NUL", ClaimSubmitted, withField(sub, "description", "rear\x00ended"), "description", `must not hold control characters, got '\x00' at character 5`},
		{"description ANSI", ClaimSubmitted, withField(sub, "description", "\x1b[2Jwiped"), "description", `got '\x1b' at character 1`},
		{"description newline", ClaimSubmitted, withField(sub, "description", "one\ntwo"), "description", `got '\n'`},
		{"description tab", ClaimSubmitted, withField(sub, "description", "a\tb"), "description", `got '\t'`},
		{"description DEL", ClaimSubmitted, withField(sub, "description", "a\x7fb"), "description", `got '\x7f'`},
		{"description C1", ClaimSubmitted, withField(sub, "description", "a\u0085b"), "description", `got '\u0085'`},
		{"description CSI", ClaimSubmitted, withField(sub, "description", "a\u009b31mb"), "description", `got '\u009b'`},
		{"description bidi override", ClaimSubmitted, withField(sub, "description", "abc\u202edcba"), "description", `got '\u202e' at character 4`},
		{"description line separator", ClaimSubmitted, withField(sub, "description", "a\u2028b"), "description", `got '\u2028'`},
		{"description not UTF-8", ClaimSubmitted, withField(sub, "description", "caf\xe9"), "description", "must be UTF-8 text"},
		{"findings ANSI", ClaimInvestigated, withField(inv, "findings", "ok\x1b[0m"), "findings", "must not hold control characters"},
		{"reason ANSI", ClaimRejected, withField(p[ClaimRejected], "reason", "\x1b]0;pwned\x07"), "reason", "must not hold control characters"},
		{"note newline", ClaimApproved, withField(p[ClaimApproved], "note", "ok\naudit forged"), "note", "must not hold control characters"},
		{"filename ANSI", DocumentUploaded, withField(p[DocumentUploaded], "filename", "a\x1b.jpg"), "filename", "must not hold control characters"},
		{"adjuster ANSI", ClaimAssigned, withField(p[ClaimAssigned], "adjuster", "ADJ\x1b[31m"), "adjuster", "must not hold control characters"},
		// ids: a safe character set and a length limit
		{"customer with space", ClaimSubmitted, withField(sub, "customer_id", "CUST 1"), "customer_id", "may hold only letters, digits, '-', '_', '.', ':' and '@'; got ' '"},
		{"customer padded", ClaimSubmitted, withField(sub, "customer_id", " CUST-1"), "customer_id", "got ' '"},
		{"customer not ASCII", ClaimSubmitted, withField(sub, "customer_id", "CÜST"), "customer_id", "got 'Ü'"},
		{"policy too long", ClaimSubmitted, withField(sub, "policy_id", strings.Repeat("P", 65)), "policy_id", "must be at most 64 characters, got 65"},
		{"payment id newline", PaymentInitiated, withField(pay, "payment_id", "PAY\n1"), "payment_id", `got '\n'`},
		{"payment id slash", PaymentCompleted, withField(p[PaymentCompleted], "payment_id", "PAY/1"), "payment_id", "got '/'"},
		{"payment id empty", PaymentCompleted, withField(p[PaymentCompleted], "payment_id", ""), "payment_id", "must not be empty"},
		// enums
		{"claim type", ClaimSubmitted, withField(sub, "claim_type", "boat"), "claim_type", `must be one of auto, home, health, life, property, travel, liability, got "boat"`},
		{"claim type of 1 MB", ClaimSubmitted, withField(sub, "claim_type", strings.Repeat("b", 1<<20)), "claim_type", `got "` + strings.Repeat("b", 40) + `"… (1048576 bytes)`},
		{"claim type with ANSI", ClaimSubmitted, withField(sub, "claim_type", "\x1b[2Jauto"), "claim_type", `got "\x1b[2Jauto"`},
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
		{"date not a leap day", ClaimSubmitted, withField(sub, "incident_date", "2026-02-29"), "incident_date", "must be a date like"},
		{"date year one", ClaimSubmitted, withField(sub, "incident_date", "0001-01-01"), "incident_date", "must be on or after 1900-01-01, got 0001-01-01"},
		{"date before 1900", ClaimSubmitted, withField(sub, "incident_date", "1899-12-31"), "incident_date", "must be on or after 1900-01-01"},
		// unknown fields
		{"unknown field", ClaimSubmitted, withField(sub, "amout", 1.0), "amout", "is not a field of this event (fields: customer_id, policy_id, amount, claim_type, incident_date, description)"},
		{"unknown field with ANSI", ClaimAssigned, withField(p[ClaimAssigned], "\x1b[31mnote", "x"), `"\x1b[31mnote"`, "is not a field of this event"},
		{"unknown field of 1 MB", ClaimAssigned, withField(p[ClaimAssigned], strings.Repeat("k", 1<<20), "x"), `"` + strings.Repeat("k", 40) + `"… (1048576 bytes)`, "is not a field of this event"},
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
		{"amount in cents", ClaimSubmitted, withField(sub, "amount", 0.07)},
		{"amount just below max", ClaimSubmitted, withField(sub, "amount", 9_999_999.99)},
		{"amount with one decimal", ClaimSubmitted, withField(sub, "amount", 1048.9)},
		{"incident on 1900-01-01", ClaimSubmitted, withField(sub, "incident_date", "1900-01-01")},
		{"leap day", ClaimSubmitted, withField(sub, "incident_date", "2024-02-29")},
		{"description in characters at limit", ClaimSubmitted, withField(sub, "description", strings.Repeat("é", 2000))},
		{"description with accents and emoji", ClaimSubmitted, withField(sub, "description", "José's café 🚗 — hit at 30 km/h")},
		{"ids with symbols", PaymentCompleted, map[string]any{"payment_id": "PAY_2026.11:0001-a", "amount": 5.0}},
		{"id at its limit", ClaimSubmitted, withField(sub, "policy_id", strings.Repeat("P", 64))},
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

func TestFieldRulesDescribeEveryField(t *testing.T) {
	t.Parallel()
	for _, typ := range EventTypes {
		required, optional := SchemaFields(typ)
		rules := FieldRules(typ)
		var names []string
		for _, r := range rules {
			names = append(names, r.Name)
			assert.NotEmpty(t, r.Rule, "%s.%s", typ, r.Name)
			assert.Equal(t, slices.Contains(required, r.Name), r.Required, "%s.%s", typ, r.Name)
		}
		assert.ElementsMatch(t, append(required, optional...), names, "%s", typ)
	}
	byName := func(typ EventType, name string) string {
		for _, r := range FieldRules(typ) {
			if r.Name == name {
				return r.Rule
			}
		}
		return ""
	}
	assert.Equal(t, "a number above 0 in whole cents (at most two decimals), at most 10000000", byName(ClaimSubmitted, "amount"))
	assert.Equal(t, "a calendar date like 2026-11-20, from 1900-01-01 on, not in the future", byName(ClaimSubmitted, "incident_date"))
	assert.Equal(t, "text of at most 2000 characters (Unicode code points), without control characters", byName(ClaimSubmitted, "description"))
	assert.Equal(t, "an id of 1 to 64 characters: letters, digits, '-', '_', '.', ':' and '@'; pay() makes a new one, PAY-XXXXXXXX", byName(PaymentInitiated, "payment_id"))
	assert.Contains(t, byName(ClaimApproved, "approved_amount"), "at most the claimed amount")
	assert.Contains(t, byName(ClaimInvestigated, "findings"), "required when phase is completed")
	assert.Equal(t, "one of low, medium, high", byName(ClaimInvestigated, "fraud_risk"))
}
