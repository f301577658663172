package claims

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// SampleClaim is one generated claim, as a customer would file it.
type SampleClaim struct {
	CustomerID, PolicyID, ClaimType, IncidentDate, Description string
	Amount                                                     float64
}

// sampleStories are what happened, per claim type.
var sampleStories = map[string][]string{
	"auto":      {"Rear-ended at a traffic light", "Hail damage to the roof and bonnet", "Scraped a pillar in a car park"},
	"home":      {"Water damage from a burst pipe", "Kitchen fire damaged the cabinets", "Storm blew tiles off the roof"},
	"health":    {"Emergency room visit", "Physiotherapy after a fall", "Dental surgery"},
	"life":      {"Beneficiary claim", "Terminal illness benefit"},
	"property":  {"Storm damaged the warehouse roof", "Burglary at the shop", "Flooded basement storage"},
	"travel":    {"Lost luggage on a connecting flight", "Trip cancelled by illness", "Missed connection after a strike"},
	"liability": {"Visitor slipped on a wet floor", "Delivery van damaged a neighbour's fence"},
}

// SampleClaims generates n claims on the sample policies (the policies
// SampleOptions{} writes: POL-0001 …, with every fifth lapsed), dated in
// the 90 days before now, the same for the same seed and day. Most are
// valid claims the processor assigns; some are on lapsed policies, on a
// policy that does not exist, for more than the policy covers or of a
// type it does not cover, so the processor rejects them too.
func SampleClaims(n int, seed int64, now time.Time) []SampleClaim {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x5bd1e995))
	set := GenerateSample(SampleOptions{Seed: 1}, now)
	out := make([]SampleClaim, n)
	for i := range out {
		p := rng.IntN(len(set.Policies)) + 1
		if p%5 == 0 && rng.IntN(3) > 0 {
			p-- // lapsed policies get a claim now and then, not a fifth of them
		}
		policy := SamplePolicyID(p)
		typ := ClaimTypes[(p-1)%len(ClaimTypes)]
		lo := coverageRange[typ][0] * 1000
		amount := float64(50+rng.IntN(lo/50)) * 50 // within any coverage of that type
		switch r := rng.IntN(100); {
		case r < 6:
			policy = fmt.Sprintf("POL-9%03d", rng.IntN(1000)) // no such policy
		case r < 12:
			amount = float64(coverageRange[typ][1]*1000 + 1000*(1+rng.IntN(50))) // more than it covers
		case r < 15:
			typ = ClaimTypes[(p+rng.IntN(len(ClaimTypes)-1))%len(ClaimTypes)] // not what it covers
		}
		stories := sampleStories[typ]
		out[i] = SampleClaim{
			CustomerID:   SampleCustomerID((p-1)%10 + 1),
			PolicyID:     policy,
			ClaimType:    typ,
			IncidentDate: now.UTC().AddDate(0, 0, -rng.IntN(90)).Format(DateLayout),
			Description:  stories[rng.IntN(len(stories))],
			Amount:       amount,
		}
	}
	return out
}
