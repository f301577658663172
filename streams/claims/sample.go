package claims

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// DefaultAdjusters are the adjusters of the sample data. The processor
// falls back to them when the adjusters set is empty, so a claim can be
// assigned before anyone loaded sample data.
var DefaultAdjusters = []string{"ADJ-001", "ADJ-002", "ADJ-003", "ADJ-004", "ADJ-005"}

// SampleOptions size the sample data (lab step 3).
type SampleOptions struct {
	Customers int   // customer hashes CUST-0001 ... (default 10)
	Policies  int   // policy hashes POL-0001 ... (default 20)
	Seed      int64 // the same seed always writes the same values
}

// The sample data's default and largest sizes: a lab needs a handful, and
// a typo such as customers=1e9 should not fill the server.
const (
	DefaultSampleCustomers = 10
	DefaultSamplePolicies  = 20
	MaxSampleRecords       = 10_000
)

// coverageRange is the coverage limit range per policy type, in whole
// thousands, so amounts in exercises are easy to reason about.
var coverageRange = map[string][2]int{
	"auto": {25, 100}, "home": {150, 600}, "health": {20, 200}, "life": {100, 1000},
	"property": {50, 500}, "travel": {2, 20}, "liability": {50, 1000},
}

var (
	sampleFirstNames = []string{"Ana", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tara"}

	sampleLastNames = []string{"Almeida", "Brooks", "Chen", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ivanova", "Johnson", "Kowalski", "Lopez", "Mensah", "Novak", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Weber"}

	sampleCities = []string{"Lisbon", "Austin", "Lyon", "Oslo", "Munich", "Madrid", "Toronto", "Osaka", "Nairobi", "Krakow"}
)

// The sample policies' periods, in days before the day they are loaded:
// an active policy started 120 to 329 days ago and runs a year, so it
// covers today and the 90 days SampleClaims dates its claims in; a lapsed
// one started 400 to 609 days ago and ran three months, so it ended long
// before today.
const (
	activeStartDays = 120
	lapsedStartDays = 400
	startSpreadDays = 210
)

// SampleCustomerID names the n-th (1-based) sample customer.
func SampleCustomerID(n int) string { return fmt.Sprintf("CUST-%04d", n) }

// SamplePolicyID names the n-th (1-based) sample policy.
func SamplePolicyID(n int) string { return fmt.Sprintf("POL-%04d", n) }

// SampleRecord is one hash of the sample data: its id and its field/value
// pairs in the order they are written.
type SampleRecord struct {
	ID     string
	Fields []string
}

// SampleSet is the sample data, generated before it is written.
type SampleSet struct {
	Customers, Policies []SampleRecord
	Lapsed              []string // the policies whose status is lapsed
}

// GenerateSample makes the sample customers and policies, dated relative
// to the day of now (UTC): the same options on the same day always give
// the same values.
func GenerateSample(o SampleOptions, now time.Time) SampleSet {
	if o.Customers <= 0 {
		o.Customers = DefaultSampleCustomers
	}
	if o.Policies <= 0 {
		o.Policies = DefaultSamplePolicies
	}
	today := now.UTC().Truncate(24 * time.Hour)
	rng := rand.New(rand.NewPCG(uint64(o.Seed), uint64(o.Seed)^0x9e3779b97f4a7c15))
	pick := func(list []string) string { return list[rng.IntN(len(list))] }

	var set SampleSet
	names := make([]string, o.Customers)
	for i := 1; i <= o.Customers; i++ {
		id := SampleCustomerID(i)
		first, last := pick(sampleFirstNames), pick(sampleLastNames)
		names[i-1] = first + " " + last
		set.Customers = append(set.Customers, SampleRecord{ID: id, Fields: []string{
			"id", id,
			"name", names[i-1],
			"email", fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(first), strings.ToLower(last), i),
			"phone", fmt.Sprintf("+1-555-%04d", rng.IntN(10000)),
			"city", pick(sampleCities),
			"member_since", today.AddDate(-rng.IntN(10), 0, -rng.IntN(365)).Format(DateLayout),
		}})
	}
	for i := 1; i <= o.Policies; i++ {
		id := SamplePolicyID(i)
		typ := ClaimTypes[(i-1)%len(ClaimTypes)]
		holder := (i-1)%o.Customers + 1
		lo, hi := coverageRange[typ][0], coverageRange[typ][1]
		coverage := (lo + rng.IntN(hi-lo+1)) * 1000
		spread := rng.IntN(startSpreadDays)
		start := today.AddDate(0, 0, -activeStartDays-spread)
		end := start.AddDate(1, 0, 0)
		status := "active"
		if i%5 == 0 {
			status = "lapsed"
			start = today.AddDate(0, 0, -lapsedStartDays-spread)
			end = start.AddDate(0, 3, 0)
			set.Lapsed = append(set.Lapsed, id)
		}
		set.Policies = append(set.Policies, SampleRecord{ID: id, Fields: []string{
			"id", id,
			"customer_id", SampleCustomerID(holder),
			"holder", names[holder-1],
			"type", typ,
			"coverage_limit", strconv.Itoa(coverage),
			"deductible", strconv.Itoa((1 + rng.IntN(8)) * 250),
			"premium", strconv.Itoa(coverage/100 + rng.IntN(400)),
			"status", status,
			"start_date", start.Format(DateLayout),
			"end_date", end.Format(DateLayout),
		}})
	}
	return set
}

func RecordIDs(rs []SampleRecord) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}
