package streams

import (
	"context"
	"errors"

	"claimsctl/streams/claims"
)

// Report replays claims:events and builds the analytics report. It counts
// what workers count: only the events the store wrote, each once; what it
// skipped, and why, is in the report.
func (s *Store) Report(ctx context.Context) (claims.Report, error) {
	r := claims.NewReport(s.Now())
	var malformed, notWritten int
	err := s.Replay(ctx, ReplayOptions{}, func(d Delivery) error {
		switch {
		case errors.Is(d.Err, claims.ErrNotWritten):
			notWritten++
		case d.Err != nil:
			malformed++
		default:
			r.Add(d.Event)
		}
		return nil
	})
	if err != nil {
		return claims.Report{}, err
	}
	rep := r.Finish()
	rep.Malformed, rep.NotWritten = malformed, notWritten
	return rep, nil
}
