package claims

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrintable(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"plain", "claim 3f9c1234 approved", "claim 3f9c1234 approved"},
		{"unicode text", "José's café 🚗 — 30 km/h", "José's café 🚗 — 30 km/h"},
		{"backslash kept", `C:\claims\a.jpg`, `C:\claims\a.jpg`},
		{"ANSI colour", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"clear screen", "\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"OSC title", "\x1b]0;pwned\x07", `\x1b]0;pwned\a`},
		{"forged log line", "x\n  [audit a1  1-0  claim.approved]", `x\n  [audit a1  1-0  claim.approved]`},
		{"carriage return", "ok\roverwritten", `ok\roverwritten`},
		{"NUL", "a\x00b", `a\x00b`},
		{"tab", "a\tb", `a\tb`},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"C1 CSI", "a\u009b31mb", `a\u009b31mb`},
		{"C1 NEL", "a\u0085b", `a\u0085b`},
		{"bidi override", "abc\u202edcba", `abc\u202edcba`},
		{"bidi isolate", "a\u2066b\u2069", `a\u2066b\u2069`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"invalid UTF-8", "caf\xe9", `caf\xe9`},
		{"truncated rune", "\xe2\x82", `\xe2\x82`},
		{"replacement character itself", "a\uFFFDb", "a\uFFFDb"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Printable(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, got, Printable(got), "escaping twice changes nothing more")
			assert.NotContains(t, got, "\x1b")
			assert.NotContains(t, got, "\n")
		})
	}
}

// TestTextRuleMatchesPrintable: what a text field may hold is exactly
// what prints as itself, so stored text never needs escaping.
func TestTextRuleMatchesPrintable(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"plain", "José 🚗", "a\x1bb", "a\nb", "a\u202eb", "a\u0085b", "caf\xe9", "a\u00a0b", ""} {
		accepted := textProblem(s, 100) == ""
		assert.Equal(t, Printable(s) == s, accepted, "%q", s)
	}
}

func TestQuoteClipsLongValues(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `"boat"`, Quote("boat"))
	assert.Equal(t, `"\x1b[2J"`, Quote("\x1b[2J"))
	long := Quote(strings.Repeat("é", 1<<20))
	assert.Equal(t, `"`+strings.Repeat("é", 40)+`"… (2097152 bytes)`, long)
	assert.Equal(t, strings.Repeat("x", 40), strings.Trim(Quote(strings.Repeat("x", 41)), `"`)[:40])
}

func TestValidClaimID(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"C-1", "6f1d0a4e-8d55-4bd5-9d3e-1f0c3b2a9e77", "claim_2026.11", strings.Repeat("a", 64), "x"} {
		assert.NoError(t, ValidClaimID(id), id)
	}
	tests := []struct{ name, id, rule string }{
		{"empty", "", "must not be empty"},
		{"too long", strings.Repeat("a", 65), "must be at most 64 characters, got 65"},
		{"1 MB", strings.Repeat("a", 1<<20), "must be at most 64 characters, got 1048576"},
		{"forged log line", "x\naudit a1 1-0 claim.approved", `may hold only letters, digits, '-', '_' and '.'; got '\n'`},
		{"ANSI", "x\x1b[2J", `got '\x1b'`},
		{"space", "a b", "got ' '"},
		{"colon", "a:b", "got ':'"},
		{"glob", "a*", "got '*'"},
		{"hash tag", "{p0}", "got '{'"},
		{"not ASCII", "clàim", "got 'à'"},
		{"not UTF-8", "a\xff", `got byte \xff`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidClaimID(tt.id)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalid)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "claim_id", ve.Field)
			assert.True(t, strings.HasPrefix(err.Error(), "claim_id "), err.Error())
			assert.True(t, strings.HasSuffix(err.Error(), tt.rule+" (nothing written)"), err.Error())
			assert.Less(t, len(err.Error()), 200, "the message does not repeat the id")
		})
	}
}

func TestValidName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"w1", "processor-1", "processors", "audit:eu.1_a", strings.Repeat("n", 64)} {
		assert.NoError(t, ValidName("consumer", name), name)
	}
	tests := []struct{ name, in, want string }{
		{"empty", "", `consumer name "" must not be empty`},
		{"space", "a b", `consumer name "a b" may hold only letters, digits, '-', '_', '.', ':' and '@'; got ' '`},
		{"newline", "w\n1", `consumer name "w\n1" may hold only letters, digits, '-', '_', '.', ':' and '@'; got '\n'`},
		{"too long", strings.Repeat("n", 65), "must be at most 64 characters, got 65"},
		{"slash", "a/b", "got '/'"},
		{"ANSI", "\x1b[31m", `got '\x1b'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidName("consumer", tt.in)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalid))
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\x1b")
		})
	}
}

func TestValidActor(t *testing.T) {
	t.Parallel()
	for _, actor := range []string{"", "claimsctl", "adjuster ADJ-001", "José Núñez", strings.Repeat("é", 64)} {
		assert.NoError(t, ValidActor(actor), actor)
	}
	tests := []struct{ name, in, rule string }{
		{"too long", strings.Repeat("a", 65), "actor must be at most 64 characters, got 65"},
		{"1 MB", strings.Repeat("a", 1<<20), "got 1048576"},
		{"characters, not bytes", strings.Repeat("é", 65), "got 65"},
		{"newline", "me\nforged", `actor must not hold control characters, got '\n' at character 3`},
		{"ANSI", "\x1b[31mme", `got '\x1b'`},
		{"not UTF-8", "m\xffe", "actor must be UTF-8 text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidActor(tt.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tt.rule)
		})
	}
}

func TestDefaultsReadsFloatNoiseAsCents(t *testing.T) {
	t.Parallel()
	c := &Claim{Status: StatusInvestigated, Amount: 2000}
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"1234 * 0.85", 1234 * 0.85, 1048.9},
		{"0.1 + 0.2", 0.1 + 0.2, 0.3},
		{"whole cents", 12.34, 12.34},
		{"a tenth of a cent stays", 0.001, 0.001},
		{"below a cent stays", 1e-9, 1e-9},
		{"an int stays", 2500, 2500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := c.Defaults(ClaimApproved, map[string]any{"approved_amount": tt.in})
			assert.Equal(t, tt.want, out["approved_amount"])
		})
	}
	assert.NoError(t, ValidateData(ClaimApproved, c.Defaults(ClaimApproved, map[string]any{"approved_amount": 1234 * 0.85}), schemaNow))
	requireValidation(t, ValidateData(ClaimApproved, c.Defaults(ClaimApproved, map[string]any{"approved_amount": 0.001}), schemaNow),
		ClaimApproved, "approved_amount", "must have at most two decimals")
}

func TestFormatNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   float64
		want string
	}{
		{2500, "2500"}, {-5, "-5"}, {0.001, "0.001"}, {10_000_000.01, "10000000.01"}, {0, "0"},
		{1e-9, "1e-09"}, {1e300, "1e+300"}, {1.7976931348623157e308, "1.79769e+308"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, FormatNumber(tt.in), "%v", tt.in)
	}
	nan, inf := math.NaN(), math.Inf(1)
	assert.Equal(t, "NaN", FormatNumber(nan))
	assert.Equal(t, "infinity", FormatNumber(inf))
	assert.Equal(t, "-infinity", FormatNumber(-inf))
	assert.Equal(t, "infinity", FormatAmount(inf), "no amount prints as +Inf")
	assert.Equal(t, "1e+300", FormatAmount(1e300), "nor as 300 digits")
	assert.Equal(t, "2000.50", FormatAmount(2000.5))
}
