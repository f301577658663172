package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"claimsctl/luaapi"
	"claimsctl/repl"
	"claimsctl/streams/claims"
)

// Exit codes, mapped from errors in one place (exitCode).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitExpectation = 3
	exitUnreachable = 4
	exitInterrupted = 130
)

// usageError is a command line mistake: exit 2 with a hint.
type usageError struct{ msg, hint string }

func (e *usageError) Error() string { return e.msg }

// expectationsFailed is a script that ran but whose expect() or check()
// calls failed.
type expectationsFailed struct {
	n    int
	what string // "expectation" (default) or "check"
}

func (e *expectationsFailed) Error() string {
	what := e.what
	if what == "" {
		what = "expectation"
	}
	if e.n == 1 {
		return "1 " + what + " failed"
	}
	return fmt.Sprintf("%d %ss failed", e.n, what)
}

// childExit is the exit code of a sandboxed child (run --sandbox), which
// becomes this process's: the child has said what went wrong itself.
type childExit int

func (e childExit) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func exitCode(err error) int {
	var (
		ue   *usageError
		ef   *expectationsFailed
		lerr *luaapi.Error
		ce   childExit
	)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ce):
		return int(ce)
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ef):
		return exitExpectation
	case errors.Is(err, claims.ErrUnreachable):
		return exitUnreachable
	case errors.Is(err, context.Canceled), errors.Is(err, repl.ErrInterrupted), errors.As(err, &lerr) && lerr.Interrupted():
		return exitInterrupted
	}
	return exitError
}
