package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/classroom"
	"claimsctl/streams/quota"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/upkeep"
)

// classCmd makes, lists and removes the Redis users of a class: one per
// student, walled off from the others by its ACL.
type classCmd struct {
	*base
	out        string
	reset      bool
	addr       string
	deleteKeys bool
	quota      quotaFlags
	every      time.Duration
	// given are the flags set on the command line, whatever their value.
	given map[string]bool
}

// classActions are class's words, in the order its usage lists them.
var classActions = []string{"add", "list", "remove", "watch"}

func (c *classCmd) doc() doc {
	return doc{name: "class", args: "add NAME... [-o FILE] | list | remove NAME... | watch",
		summary: "give each student a Redis user walled off by ACL (an instructor's)",
		about: "Gives each student of a class a Redis user of its own on one Redis (or\n" +
			"cluster), connected as an admin: with a generated password, allowed only\n" +
			"the keys under NAME: and none of FLUSHALL, KEYS, CONFIG, ACL … (class add).\n" +
			"It prints each student's REDIS_URL; with it claimsctl works under NAME:\n" +
			"by itself. class list names the students, class remove deletes their\n" +
			"users. ACLs cannot bound memory: class add records each student's quota\n" +
			"(--redis-quota, --redis-keys) and class watch, left running, measures\n" +
			"every student's keys and refuses its writes while it is over (it may\n" +
			"still delete). The embedded server does not enforce ACLs: class needs a\n" +
			"real Redis."}
}

func (c *classCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.out, "o", c.out, "add: write the students' URLs to `FILE` (readable by\nyou only) instead of printing them")
	fs.BoolVar(&c.reset, "reset", c.reset, "add: give students who have a user already a new\npassword (their old URL stops working)")
	fs.StringVar(&c.addr, "addr", c.addr, "add: the `HOST:PORT` students reach the server at,\nin their URLs (default: the one connected to)")
	fs.BoolVar(&c.deleteKeys, "delete-keys", c.deleteKeys, "remove: delete the students' keys (NAME:*) too")
	if c.given == nil { // the first parse: names and flags may alternate
		c.quota = quotaFlags{bytes: quota.DefaultBytes, keys: quota.DefaultKeys}
	}
	fs.Var(&c.quota.bytes, "redis-quota", "add: a student's keys may hold `SIZE` (0: no limit), which\nclass watch enforces; watch: the quota of a student\nwithout one recorded")
	fs.Int64Var(&c.quota.keys, "redis-keys", c.quota.keys, "add, watch: a student may have `N` keys\n(0: no limit)")
	if c.every == 0 {
		c.every = time.Second
	}
	fs.DurationVar(&c.every, "every", c.every, "watch: measure the students' keys every\n`DURATION`")
}

func (c *classCmd) Run(ctx context.Context, args []string) error {
	const hint = "claimsctl class add alice bob --redis redis://default:ADMINPASS@HOST:6379 -o class.txt"
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if _, err := c.parse(c, args); err != nil {
			return err
		}
		return &usageError{msg: "class needs one of " + strings.Join(classActions, ", "), hint: hint}
	}
	action := args[0]
	if !slices.Contains(classActions, action) {
		return &usageError{msg: fmt.Sprintf("class %s: no such action (%s)", action, strings.Join(classActions, ", ")) + didYouMean(action, classActions), hint: hint}
	}
	// Names and flags may come in any order.
	var names []string
	for rest := args[1:]; ; {
		fs, err := c.parse(c, rest)
		if err != nil {
			return err
		}
		if c.given == nil {
			c.given = map[string]bool{}
		}
		fs.Visit(func(f *flag.Flag) { c.given[f.Name] = true })
		if rest = fs.Args(); len(rest) == 0 {
			break
		}
		names, rest = append(names, rest[0]), rest[1:]
	}
	if err := c.checkArgs(action, names); err != nil {
		return err
	}
	backend, err := c.dial(ctx, redisconn.Brief)
	if err != nil {
		return err
	}
	defer backend.Close()
	if backend.Miniredis {
		return errors.New("the embedded server does not enforce ACLs: a student could read and write every other's keys. " +
			"class needs a real Redis (redis-server 7): give its admin URL with --redis (or a node of a cluster)")
	}
	fmt.Fprintf(c.env.stderr, "connected to %s\n", backend.Description)
	switch action {
	case "add":
		return c.add(ctx, backend, names)
	case "remove":
		return c.remove(ctx, backend, names)
	case "watch":
		return c.watch(ctx, backend)
	}
	students, err := classroom.List(ctx, backend.Client)
	if err != nil {
		return err
	}
	if len(students) == 0 {
		fmt.Fprintln(c.env.stderr, "no students yet: claimsctl class add NAME... makes them")
	}
	for _, name := range students {
		fmt.Fprintln(c.env.stdout, name)
	}
	return nil
}

// checkArgs refuses what does not fit the action, before connecting.
func (c *classCmd) checkArgs(action string, names []string) error {
	hint := "claimsctl class " + action
	if action != "list" && action != "watch" {
		hint += " alice bob"
	}
	for _, f := range []struct {
		flag, of string
		given    bool
	}{{"-o", "add", c.out != ""}, {"--reset", "add", c.reset}, {"--addr", "add", c.addr != ""}, {"--delete-keys", "remove", c.deleteKeys},
		{"--every", "watch", c.given["every"]}, {"--redis-quota", "add or watch", c.given["redis-quota"]}, {"--redis-keys", "add or watch", c.given["redis-keys"]}} {
		if f.given && !slices.Contains(strings.Split(f.of, " or "), action) {
			return &usageError{msg: fmt.Sprintf("%s is a flag of class %s, not of class %s", f.flag, f.of, action), hint: hint}
		}
	}
	switch {
	case c.conn.prefix != "":
		return &usageError{msg: "--prefix is not for class: a student's keys are those under NAME:", hint: hint}
	case (action == "list" || action == "watch") && len(names) > 0:
		return &usageError{msg: "class " + action + " takes no names, got " + strings.Join(names, " "), hint: hint}
	case action != "list" && action != "watch" && len(names) == 0:
		return &usageError{msg: "class " + action + " needs the students' names", hint: hint}
	}
	for i, name := range names {
		if err := classroom.CheckName(name); err != nil {
			return &usageError{msg: err.Error(), hint: hint}
		}
		if slices.Contains(names[:i], name) {
			return &usageError{msg: fmt.Sprintf("student %q is named twice", name), hint: hint}
		}
	}
	if err := c.quota.check(hint); err != nil {
		return err
	}
	if c.every <= 0 {
		return &usageError{msg: fmt.Sprintf("--every must be above 0, got %s", c.every), hint: "claimsctl class watch --every 2s"}
	}
	if c.addr != "" {
		host, port, err := net.SplitHostPort(c.addr)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return &usageError{msg: fmt.Sprintf("--addr %q is not HOST:PORT", c.addr), hint: "claimsctl class add alice --addr redis.school.example:6379"}
		}
	}
	if c.out != "" {
		if err := writableFile(c.out); err != nil {
			return &usageError{msg: "-o: " + err.Error(), hint: hint + " -o class.txt"}
		}
	}
	return nil
}

func (c *classCmd) add(ctx context.Context, backend *redisconn.Backend, names []string) error {
	res, err := classroom.Add(ctx, backend.Client, names, c.reset)
	if err != nil {
		if errors.Is(err, classroom.ErrExists) || errors.Is(err, classroom.ErrNotStudent) {
			return &usageError{msg: err.Error(), hint: "claimsctl class list"}
		}
		return err
	}
	if err := classroom.SetQuota(ctx, backend.Client, names, c.quota.limits()); err != nil {
		return fmt.Errorf("the students' users are made, but %w", err)
	}
	// One line per student, NAME URL, as a shell reads it:
	// while read name url; do … done < class.txt
	var roster strings.Builder
	for _, s := range res.Students {
		u, err := redisconn.UserURL(c.connected, s.Name, s.Password, c.addr)
		if err != nil {
			return err
		}
		fmt.Fprintf(&roster, "%s %s\n", s.Name, u)
	}
	if c.out == "" {
		fmt.Fprint(c.env.stdout, roster.String())
	} else {
		err := writeFileAtomically(c.out, 0o600, func(w io.Writer) error {
			_, err := io.WriteString(w, roster.String())
			return err
		})
		if err != nil {
			// The users exist now: their URLs must not be lost.
			fmt.Fprint(c.env.stdout, roster.String())
			return err
		}
		fmt.Fprintf(c.env.stderr, "%d students' URLs written to %s (readable by you only): NAME REDIS_URL a line\n", len(res.Students), c.out)
	}
	fmt.Fprintf(c.env.stderr, "each student runs: export REDIS_URL=<their URL>; claimsctl run scripts/step01.lua (keys under NAME:)\n")
	fmt.Fprintf(c.env.stderr, "quota of each: %s; ACLs cannot bound memory: leave claimsctl class watch running to hold them to it\n", limitsText(c.quota.limits()))
	if !res.Saved {
		fmt.Fprintln(c.env.stderr, "note: the server has no ACL file (aclfile), so these users live in its memory until it restarts; "+
			"to keep them, run CONFIG REWRITE on each node (a server started with a config file) or start it with --aclfile FILE")
	}
	return nil
}

func (c *classCmd) remove(ctx context.Context, backend *redisconn.Backend, names []string) error {
	if _, err := classroom.Remove(ctx, backend.Client, names); err != nil {
		if errors.Is(err, classroom.ErrNotStudent) {
			return &usageError{msg: err.Error(), hint: "claimsctl class list"}
		}
		return err
	}
	for _, name := range names {
		prefix := classroom.Prefix(name)
		if !c.deleteKeys {
			fmt.Fprintf(c.env.stdout, "removed %s (its keys %s* stay: class remove --delete-keys deletes them)\n", name, prefix)
			continue
		}
		n, err := upkeep.DeleteAll(ctx, streams.New(backend.Client, streams.Options{Prefix: prefix}))
		if err != nil {
			return fmt.Errorf("removed %s, but not all its keys: %w", name, err)
		}
		fmt.Fprintf(c.env.stdout, "removed %s and its %s (%s*)\n", name, claims.Plural(int64(n), "key", "keys"), prefix)
	}
	return nil
}

// watch measures every student's keys each --every and takes away the
// writes of those over their quota until they are back under it; it runs
// until interrupted, riding out a server that restarts.
func (c *classCmd) watch(ctx context.Context, backend *redisconn.Backend) error {
	w := classroom.NewWatcher(backend.Client, c.quota.limits())
	fmt.Fprintf(c.env.stderr, "watching the class every %s: a student over its quota (recorded by class add; else %s) "+
		"may read and delete but not write until it is back under; Ctrl-C stops\n", c.every, limitsText(c.quota.limits()))
	stamp := func() string { return time.Now().Format("15:04:05.000") }
	var failing error
	for {
		statuses, err := w.Tick(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && !redisconn.Transient(err):
			return err
		case err != nil:
			if failing == nil {
				fmt.Fprintf(c.env.stderr, "%s redis unavailable, reconnecting every %s: %v\n", stamp(), c.every, err)
			}
		case failing != nil:
			fmt.Fprintf(c.env.stderr, "%s redis is back\n", stamp())
		}
		failing = err
		for _, s := range statuses {
			if !s.Changed {
				continue
			}
			held := fmt.Sprintf("%s in %s", quota.Size(s.Usage.Bytes), claims.Plural(s.Usage.Keys, "key", "keys"))
			if s.Blocked {
				fmt.Fprintf(c.env.stdout, "%s %s: %s, over its quota of %s: its writes are refused (ACL SETUSER %s -@write +del +unlink …) until it deletes keys\n",
					stamp(), s.Name, held, limitsText(s.Limits), s.Name)
			} else {
				fmt.Fprintf(c.env.stdout, "%s %s: %s, back under its quota of %s: its writes are allowed again\n", stamp(), s.Name, held, limitsText(s.Limits))
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(c.every):
		}
	}
}

// limitsText writes a quota for people: "64 MiB and 10000 keys".
func limitsText(l quota.Limits) string {
	var parts []string
	if l.Bytes > 0 {
		parts = append(parts, quota.Size(l.Bytes))
	}
	if l.Keys > 0 {
		parts = append(parts, claims.Plural(l.Keys, "key", "keys"))
	}
	if len(parts) == 0 {
		return "no limit"
	}
	return strings.Join(parts, " and ")
}
