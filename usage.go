package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// doc is what a subcommand's --help says around its flags.
type doc struct {
	name    string // claimsctl NAME
	args    string // the synopsis after the name: "NAME|FILE.lua [flags]"
	summary string // its line in claimsctl --help
	about   string // what it does: one sentence, broken into lines
	noConn  bool   // it talks to no Redis, so it takes no connection flags
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package would print its own message and usage at every
	// mistake; parseFlags words them instead.
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args into fs. --help (or -h) writes usage to stdout
// and returns flag.ErrHelp (exit 0); any other mistake is a usage error
// with hint.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer, usage func(io.Writer), hint string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		usage(stdout)
		return err
	}
	return &usageError{msg: flagMistake(err, fs, args), hint: hint}
}

// flagMistake words a flag package error with the flag as it was typed
// (the package writes -count whether -count or --count was typed), and
// suggests the closest flag for an unknown one.
func flagMistake(err error, fs *flag.FlagSet, args []string) string {
	msg := err.Error()
	// The flag at fault is the last one Parse consumed; its value may
	// follow it.
	consumed := args[:len(args)-fs.NArg()]
	for _, arg := range slices.Backward(consumed) {
		bare := strings.TrimLeft(arg, "-")
		dashes := arg[:len(arg)-len(bare)]
		name, _, _ := strings.Cut(bare, "=")
		if dashes == "" || name == "" {
			continue
		}
		at := regexp.MustCompile(` -` + regexp.QuoteMeta(name) + `(:|$)`).FindStringIndex(msg)
		if at == nil {
			continue
		}
		msg = msg[:at[0]] + " " + dashes + name + msg[at[0]+len(" -"+name):]
		if fs.Lookup(name) == nil {
			var names []string
			fs.VisitAll(func(f *flag.Flag) { names = append(names, flagName(f.Name)) })
			msg += didYouMean(flagName(name), names)
		}
		return msg
	}
	return msg
}

// unknownCommand is the usage error for a subcommand name that is none.
func unknownCommand(name string, cmds []subcommand) error {
	msg := fmt.Sprintf("unknown command %q", name)
	if strings.HasSuffix(name, ".lua") {
		return &usageError{msg: msg, hint: "claimsctl run " + name}
	}
	names := []string{"help"}
	for _, c := range cmds {
		names = append(names, c.doc().name)
	}
	return &usageError{msg: msg + didYouMean(name, names), hint: "claimsctl --help"}
}

// printOverview is claimsctl --help: every subcommand in a line.
func printOverview(w io.Writer, cmds []subcommand) {
	fmt.Fprint(w, `claimsctl: the Redis Streams claims lab (event sourcing) as one tool

Usage:
  claimsctl [flags]                   the interactive Lua REPL
  claimsctl [flags] -e CODE [ARGS]    run a line of Lua
  claimsctl [flags] COMMAND [ARGS]    run one of the commands below

Commands:
`)
	for _, c := range cmds {
		d := c.doc()
		fmt.Fprintf(w, "  %-10s %s\n", d.name, d.summary)
	}
	fmt.Fprintf(w, "  %-10s %s\n", "help", "claimsctl help COMMAND (or COMMAND --help) lists its flags")
	fs := newFlagSet("claimsctl")
	registerRoot(fs)
	registerSeed(fs, new(string))
	printFlags(w, "Flags", fs)
	printConnFlags(w, "Connection flags (before or after the command)")
	fmt.Fprint(w, `
Without --redis, claimsctl uses localhost:6379 if it answers, else an embedded
in-memory Redis on a free loopback port, printed so that redis-cli -p PORT can
watch it.

Exit codes: 0 ok, 1 error, 2 usage, 3 failed expectations, 4 cannot reach Redis,
130 interrupted.
`)
}

// printUsage is a subcommand's --help: the synopsis, what it does, its own
// flags, then the connection flags.
func printUsage(w io.Writer, cmd subcommand) {
	d := cmd.doc()
	fmt.Fprintf(w, "Usage: claimsctl %s\n\n%s\n", strings.TrimSpace(d.name+" "+d.args), d.about)
	fs := newFlagSet(d.name)
	cmd.flags(fs)
	printFlags(w, "Flags", fs)
	if !d.noConn {
		printConnFlags(w, "Connection flags")
	}
}

// printConnFlags lists the connection flags with their own defaults, not
// with what the command line set.
func printConnFlags(w io.Writer, title string) {
	var c connFlags
	fs := newFlagSet("")
	c.register(fs)
	printFlags(w, title, fs)
}

// printFlags lists fs's flags, if any, under title. The placeholder of a
// flag's value is the back-quoted word of its usage (flag.UnquoteUsage);
// a "\n" in the usage continues it on the next line.
func printFlags(w io.Writer, title string, fs *flag.FlagSet) {
	const indent = 24
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprintf(w, "\n%s:\n", title)
			first = false
		}
		arg, usage := flag.UnquoteUsage(f)
		left := flagName(f.Name)
		if arg != "" {
			left += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			usage += " (default " + f.DefValue + ")"
		}
		usage = strings.ReplaceAll(usage, "\n", "\n"+strings.Repeat(" ", indent))
		fmt.Fprintf(w, "  %-*s %s\n", indent-3, left, usage)
	})
}

// flagName writes a flag as it is documented: -o, --count.
func flagName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// didYouMean suggests the name a typo most likely meant: at most two
// edits away, and fewer edits than the typo has letters (dashes aside).
func didYouMean(typo string, names []string) string {
	best, bestDist := "", min(3, len(strings.TrimLeft(typo, "-")))
	for _, n := range names {
		if d := levenshtein(typo, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
