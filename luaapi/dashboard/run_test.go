package dashboard

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"claimsctl/streams/claims"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunOnceDrawsOneFrame(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	fetch := func(context.Context) (claims.Report, error) { return fixedReport(), nil }
	require.NoError(t, Run(context.Background(), &out, fetch, Options{Once: true}))
	assert.Equal(t, Render(fixedReport(), DefaultWidth, false), out.String(), "no clear, no refresh footer")
}

// TestRunRedrawsUntilCancelled: every frame is fetched afresh and, on a
// terminal, drawn on a cleared screen; cancelling ends the loop normally.
func TestRunRedrawsUntilCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	frames := 0
	fetch := func(context.Context) (claims.Report, error) {
		frames++
		if frames == 3 {
			cancel()
		}
		return fixedReport(), nil
	}
	var out strings.Builder
	require.NoError(t, Run(ctx, &out, fetch, Options{Refresh: time.Millisecond, Clear: true}))
	assert.Equal(t, 3, frames)
	assert.Equal(t, 3, strings.Count(out.String(), clearScreen))
	assert.Contains(t, out.String(), "refreshing every 1ms; Ctrl-C stops")
}

func TestRunReportsAFailedFetch(t *testing.T) {
	t.Parallel()
	down := errors.New("connection refused")
	fetch := func(context.Context) (claims.Report, error) { return claims.Report{}, down }
	err := Run(context.Background(), &strings.Builder{}, fetch, Options{Once: true})
	require.ErrorIs(t, err, down)
	assert.Equal(t, "dashboard: connection refused", err.Error())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.NoError(t, Run(ctx, &strings.Builder{}, fetch, Options{}), "a fetch cut short by Ctrl-C is no failure")
}

// TestRunRidesOutTransientErrors: a transient error gets a "reconnecting"
// line and the next frame is tried; any other error ends the dashboard.
func TestRunRidesOutTransientErrors(t *testing.T) {
	t.Parallel()
	down, broken := errors.New("connection refused"), errors.New("WRONGTYPE")
	replies := []error{down, down, nil, broken}
	calls := 0
	fetch := func(context.Context) (claims.Report, error) {
		err := replies[calls]
		calls++
		return fixedReport(), err
	}
	var out strings.Builder
	err := Run(context.Background(), &out, fetch, Options{Refresh: time.Millisecond, Transient: func(err error) bool { return err == down }})
	require.ErrorIs(t, err, broken)
	assert.Equal(t, 4, calls)
	assert.Equal(t, 2, strings.Count(out.String(), "redis unavailable, reconnecting in 1ms: connection refused\n"))
	assert.Contains(t, out.String(), "Claims dashboard", "the frame after the reconnect is drawn")
}
