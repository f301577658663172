package luaapi

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress draws long work (a bulk submit, a rebuild) as a bar on a
// terminal; on a pipe, or with NO_COLOR, it draws nothing, so transcripts
// and tests see only the result.
type progress struct {
	out io.Writer
	on  bool // a terminal, NO_COLOR unset (Config.Color)
}

// start returns the function to call with how much is done, and the one
// to call when the work ends.
func (p progress) start(total int, what string) (update func(done int), finish func()) {
	if !p.on || total <= 0 {
		return func(int) {}, func() {}
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.out),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)
	return func(done int) { _ = bar.Set(done) }, func() { _ = bar.Finish() }
}
