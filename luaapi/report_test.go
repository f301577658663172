package luaapi

import (
	"context"
	"strings"
	"sync"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signalWriter is an io.Writer that reports its first write, so a test can
// wait for the first frame without sleeping.
type signalWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	first chan struct{}
	once  sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.once.Do(func() { close(w.first) })
	return w.buf.Write(p)
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestDashboardFromLua(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		ctx := context.Background()
		store := newStore(t, streams.Options{})

		t.Run("once, piped", func(t *testing.T) {
			rt, out := newRuntime(t, store, false)
			require.NoError(t, rt.DoString(ctx, `
				submit{customer="C", policy="P", amount=1200, type="travel", incident_date="2026-11-01", description="lost bag"}
				dashboard{once=true}`, "once"))
			assert.Contains(t, out.String(), "Claims dashboard")
			assert.Contains(t, out.String(), "claims 1")
			assert.Regexp(t, `travel\s+1  #+\n`, out.String())
			assert.NotContains(t, out.String(), "\x1b", "no ANSI when not a terminal")
			assert.NotContains(t, out.String(), "Ctrl-C", "a single frame has no refresh footer")
		})

		t.Run("on a terminal", func(t *testing.T) {
			w := &signalWriter{first: make(chan struct{})}
			rt := New(Config{Store: store, Out: w, TTY: true, Color: true})
			t.Cleanup(rt.Close)
			cctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- rt.DoString(cctx, `dashboard{refresh=600}; after = "went on"`, "live") }()
			<-w.first
			cancel() // Ctrl-C
			require.NoError(t, <-done, "Ctrl-C ends the dashboard normally")
			assert.True(t, strings.HasPrefix(w.String(), "\x1b[H\x1b[2J"), "a terminal is cleared before each frame")
			assert.Contains(t, w.String(), "refreshing every 10m0s; Ctrl-C stops")
			assert.Contains(t, w.String(), "\x1b[1;36mStatus")
			assert.Equal(t, "went on", rt.L.GetGlobal("after").String(), "the rest of the chunk ran")
		})

		t.Run("bad options", func(t *testing.T) {
			rt, _ := newRuntime(t, store, false)
			for code, msg := range map[string]string{
				`dashboard{refresh=0}`:  "refresh must be a number of seconds above 0",
				`dashboard{width=20}`:   "width must be between 60 and 1000",
				`dashboard{onse=true}`:  `unknown option "onse"`,
				`dashboard{once="yes"}`: "option once must be true or false",
			} {
				err := rt.DoString(ctx, code, "bad")
				require.Error(t, err, code)
				assert.Contains(t, err.Error(), msg, code)
			}
		})
	})
}
