package luaapi

import (
	"reflect"
	"testing"
	"time"

	"claimsctl/streams/claims"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// TestClaimTableIsTheClaimsJSON: the table a command returns holds what
// the claim's JSON holds, field for field and with the same omissions,
// for a claim with every field set (a field added to claims.Claim fails
// here until claimTable carries it) and for empty ones.
func TestClaimTableIsTheClaimsJSON(t *testing.T) {
	t.Parallel()
	L := lua.NewState()
	defer L.Close()
	full := claims.Claim{}
	v := reflect.ValueOf(&full).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x-" + v.Type().Field(i).Name)
		case reflect.Float64:
			f.SetFloat(float64(i) + 0.25)
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(i))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"1-0", "2-1"}))
		case reflect.Struct:
			f.Set(reflect.ValueOf(time.Date(2026, 11, 25, 10, 0, i, 1234567, time.UTC)))
		default:
			t.Fatalf("claims.Claim.%s is a %s: teach this test (and claimTable) to fill it", v.Type().Field(i).Name, f.Kind())
		}
	}
	at := time.Date(2026, 11, 25, 10, 0, 0, 1234567, time.FixedZone("CET", 3600))
	submitted := claims.Claim{ID: "c", Status: claims.StatusSubmitted, Version: 1, Amount: 2500, SubmittedAt: at, UpdatedAt: at, Entries: []string{"1-0"}}
	for name, c := range map[string]claims.Claim{"every field": full, "zero": {}, "no entries yet": {ID: "c", Entries: []string{}}, "just submitted": submitted} {
		t.Run(name, func(t *testing.T) {
			got, err := fromLua(claimTable(L, &c), "claim")
			require.NoError(t, err)
			want, err := fromLua(structToLua(L, c), "claim")
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

// BenchmarkClaimTable is what a command's result costs to build.
func BenchmarkClaimTable(b *testing.B) {
	L := lua.NewState()
	defer L.Close()
	now := time.Now().UTC()
	c := &claims.Claim{ID: "6f1d0a4e-8d55-4bd5-9d3e-1f0c3b2a9e77", Status: claims.StatusSubmitted, Version: 1, CustomerID: "CUST-0001",
		PolicyID: "POL-0001", ClaimType: "auto", IncidentDate: "2026-11-20", Description: "rear-ended at a light", Amount: 2500,
		SubmittedAt: now, UpdatedAt: now, Entries: []string{"1764000000000-0"}}
	b.ReportAllocs()
	for b.Loop() {
		claimTable(L, c)
	}
}

// TestFormatTimeIsFormat: the direct formatting of table times writes
// what time.Format does, for every fraction, zone and year.
func TestFormatTimeIsFormat(t *testing.T) {
	t.Parallel()
	zones := []*time.Location{time.UTC, time.FixedZone("GMT", 0), time.FixedZone("CET", 3600), time.FixedZone("", -5*3600-30*60)}
	var times []time.Time
	for _, ns := range []int{0, 1, 1000, 1000000, 120000000, 123456789, 999999999, 500000000} {
		for _, y := range []int{1, 999, 1970, 2026, 9999, 10000, -1} {
			for _, z := range zones {
				times = append(times, time.Date(y, time.December, 31, 23, 59, 59, ns, z), time.Date(y, time.January, 2, 3, 4, 5, ns, z))
			}
		}
	}
	times = append(times, time.Time{}, time.Now(), time.Now().UTC())
	for _, at := range times {
		for _, layout := range []string{time.RFC3339Nano, timeOut} {
			assert.Equal(t, at.Format(layout), formatTime(at, layout), "%v in %s", at, layout)
		}
	}
}
