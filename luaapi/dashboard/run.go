package dashboard

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"claimsctl/streams/claims"
)

const (
	// DefaultRefresh is the time between frames when Options.Refresh is 0.
	DefaultRefresh = 2 * time.Second
	// clearScreen moves the cursor home and clears: only sent to a terminal.
	clearScreen = "\x1b[H\x1b[2J"
)

// Options tune Run.
type Options struct {
	Refresh time.Duration // time between frames (default DefaultRefresh)
	Once    bool          // draw one frame and return
	Width   int           // columns (default DefaultWidth)
	Color   bool          // ANSI colour and block bars
	Clear   bool          // clear the screen before each frame (a terminal)
	// Transient reports an error worth waiting out (Redis restarting, a
	// failover): the dashboard prints a "reconnecting" line and tries
	// again at the next frame. Any other error ends it, and so does every
	// error when Transient is nil or Once is set.
	Transient func(error) bool
}

// Run draws the report fetch returns, every Refresh, until ctx is
// cancelled (Ctrl-C), which ends it normally: stopping the dashboard is
// how it is meant to end, not a failure.
func Run(ctx context.Context, w io.Writer, fetch func(context.Context) (claims.Report, error), o Options) error {
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	for frame := 0; ; frame++ {
		rep, err := fetch(ctx)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil
		case o.Once || o.Transient == nil || !o.Transient(err):
			return fmt.Errorf("dashboard: %w", err)
		default:
			if _, werr := fmt.Fprintf(w, "redis unavailable, reconnecting in %s: %v\n", o.Refresh, err); werr != nil {
				return fmt.Errorf("dashboard: %w", werr)
			}
			if !wait(ctx, o.Refresh) {
				return nil
			}
			continue
		}
		var b strings.Builder
		switch {
		case o.Clear:
			b.WriteString(clearScreen)
		case frame > 0:
			b.WriteString("\n")
		}
		b.WriteString(Render(rep, o.Width, o.Color))
		if !o.Once {
			fmt.Fprintf(&b, "\nrefreshing every %s; Ctrl-C stops\n", o.Refresh)
		}
		if _, err := io.WriteString(w, b.String()); err != nil {
			return fmt.Errorf("dashboard: %w", err)
		}
		if o.Once {
			return nil
		}
		if !wait(ctx, o.Refresh) {
			return nil
		}
	}
}

// wait waits d, or reports false when ctx ends first.
func wait(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
