package streams

import (
	"context"

	"claimsctl/streams/claims"
)

// Report replays claims:events and builds the analytics report.
func (s *Store) Report(ctx context.Context) (claims.Report, error) {
	var events []claims.Event
	malformed := 0
	err := s.Replay(ctx, ReplayOptions{}, func(d Delivery) error {
		if d.Err != nil {
			malformed++
			return nil
		}
		events = append(events, d.Event)
		return nil
	})
	if err != nil {
		return claims.Report{}, err
	}
	r := claims.BuildReport(events, s.now())
	r.Malformed = malformed
	return r, nil
}
