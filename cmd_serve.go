package main

import (
	"context"
	"flag"
	"fmt"

	"claimsctl/streams/embedded"
)

// serveCmd runs the embedded server in the foreground, like the lab's
// docker Redis, so other terminals find it on localhost:6379.
type serveCmd struct {
	*base
	port int
}

func (c *serveCmd) doc() doc {
	return doc{name: "serve", args: "[flags]", summary: "run the embedded Redis in the foreground", noConn: true,
		about: "Runs the embedded in-memory Redis until Ctrl-C, so several terminals share it\n" +
			"as the lab's terminals share its docker Redis."}
}

func (c *serveCmd) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.port, "port", embedded.DefaultPort, "listen on 127.0.0.1 port `N`")
}

func (c *serveCmd) Run(ctx context.Context, args []string) error {
	if _, err := c.parse(c, args); err != nil {
		return err
	}
	srv, err := embedded.Start(c.port)
	if err != nil {
		return err
	}
	defer srv.Close()
	found := "other terminals find it on their own (localhost:6379)"
	if srv.Port() != embedded.DefaultPort {
		found = fmt.Sprintf("other terminals reach it with --redis redis://127.0.0.1:%d", srv.Port())
	}
	fmt.Fprintf(c.env.stdout, "embedded Redis (in memory) serving on %s; %s. Ctrl-C stops it.\n", srv.Addr(), found)
	<-ctx.Done()
	fmt.Fprintln(c.env.stdout, "stopped; its data is gone")
	return nil
}
