package workers

import (
	"fmt"
	"strings"

	"claimsctl/streams"
	"claimsctl/streams/claims"
)

// Names are the built-in workers, as `claimsctl worker NAME` and Lua's
// start(NAME) know them.
var Names = []string{"processor", "analytics", "notifications", "audit"}

// New returns a built-in worker's handler, with default options.
func New(s *streams.Store, name string) (Handler, error) {
	switch name {
	case "processor":
		return NewProcessor(s), nil
	case "analytics":
		return NewAnalytics(s, AnalyticsOptions{}), nil
	case "notifications":
		return NewNotifier(s, NotifyOptions{}), nil
	case "audit":
		return NewAuditor(s), nil
	}
	return nil, fmt.Errorf("no worker %q (want one of %s): %w", name, strings.Join(Names, ", "), claims.ErrInvalid)
}
