package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"claimsctl/luaapi/dashboard"
	"claimsctl/streams/redisconn"
)

// dashboardCmd draws the analytics dashboard until Ctrl-C, which ends it
// with exit 0: stopping is how a dashboard is meant to end.
type dashboardCmd struct {
	*base
	once    bool
	refresh float64
	width   int
}

func (c *dashboardCmd) doc() doc {
	return doc{name: "dashboard", args: "[flags]", summary: "the analytics live in the terminal",
		about: "Draws the analytics report as a dashboard in the terminal, redrawn every\n" +
			"--refresh seconds until Ctrl-C."}
}

func (c *dashboardCmd) flags(fs *flag.FlagSet) {
	fs.BoolVar(&c.once, "once", false, "draw one frame and exit")
	fs.Float64Var(&c.refresh, "refresh", dashboard.DefaultRefresh.Seconds(), "redraw every `S` seconds")
	fs.IntVar(&c.width, "width", 0, fmt.Sprintf("draw `N` columns wide, at least %d (default: the\nterminal's width, or %d when not a terminal)", dashboard.MinWidth, dashboard.DefaultWidth))
}

func (c *dashboardCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(c, args)
	if err != nil {
		return err
	}
	if c.refresh <= 0 {
		return &usageError{msg: fmt.Sprintf("--refresh must be above 0 seconds, got %v", c.refresh), hint: "claimsctl dashboard --refresh 2"}
	}
	widthSet := false
	fs.Visit(func(f *flag.Flag) { widthSet = widthSet || f.Name == "width" })
	switch {
	case widthSet && c.width < dashboard.MinWidth:
		return &usageError{msg: fmt.Sprintf("--width must be at least %d columns, got %d", dashboard.MinWidth, c.width), hint: "claimsctl dashboard --width 80"}
	case !widthSet:
		// 0 when stdout is not a terminal: the dashboard's default.
		c.width = c.env.terminalWidth()
	}
	life := redisconn.Session
	if c.once {
		life = redisconn.Brief
	}
	backend, store, err := c.connect(ctx, c.env.stderr, life)
	if err != nil {
		return err
	}
	defer backend.Close()
	return dashboard.Run(ctx, c.env.stdout, store.Report, dashboard.Options{
		Refresh: time.Duration(c.refresh * float64(time.Second)),
		Once:    c.once, Width: c.width,
		Color:     c.env.color(),
		Clear:     c.env.stdoutTTY && !c.once,
		Transient: redisconn.Transient,
	})
}
