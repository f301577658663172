package streams

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// errKind is what a Redis error means to the code that got it. This file is
// the only place that looks at the text of Redis's replies.
type errKind int

const (
	errNone errKind = iota
	// errNil: nothing there (redis.Nil): a missing key or field, an empty read.
	errNil
	// errMissing: the stream or the group does not exist yet.
	errMissing
	// errBusyGroup: XGROUP CREATE of a group that exists.
	errBusyGroup
	// errNoScript: EVALSHA of a script the server does not hold (it was
	// restarted or its script cache flushed).
	errNoScript
	// errUnavailable: the server cannot answer now (connection refused or
	// lost, timeout, loading its AOF, busy, a cluster failover): worth
	// waiting for and retrying.
	errUnavailable
	// errUnsupported: the server lacks the command or the section (the
	// embedded server: no XSETID, no INFO server).
	errUnsupported
	// errAuth: a wrong or missing password or user.
	errAuth
	// errCrossSlot: a script or transaction touched keys of two slots of a
	// cluster: a bug in the key layout, never the user's doing.
	errCrossSlot
	// errOther: any other reply or failure.
	errOther
)

// unavailablePrefixes are the replies of a server that cannot answer now.
// MOVED and ASK reach the store only from a pipeline sent to one node (a
// durable append's EVALSHA+WAIT): a slot moving in a failover.
var unavailablePrefixes = []string{"LOADING", "BUSY ", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN", "READONLY", "MOVED ", "ASK "}

// classify says what err means. Context cancellation is errOther: the
// caller stopped, not Redis.
func classify(err error) errKind {
	if err == nil {
		return errNone
	}
	if errors.Is(err, redis.Nil) {
		return errNil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errOther
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		upper := strings.ToUpper(msg)
		switch {
		case strings.HasPrefix(msg, "NOGROUP"), strings.Contains(msg, "no such key"):
			return errMissing
		case strings.HasPrefix(msg, "BUSYGROUP"):
			return errBusyGroup
		case strings.HasPrefix(msg, "NOSCRIPT"):
			return errNoScript
		case strings.HasPrefix(msg, "WRONGPASS"), strings.HasPrefix(msg, "NOAUTH"), strings.HasPrefix(msg, "NOPERM"):
			return errAuth
		case strings.HasPrefix(msg, "CROSSSLOT"):
			return errCrossSlot
		case strings.Contains(upper, "UNKNOWN COMMAND"), strings.Contains(upper, "UNKNOWN SUBCOMMAND"), strings.Contains(msg, "not supported"):
			return errUnsupported
		}
		for _, p := range unavailablePrefixes {
			if strings.HasPrefix(msg, p) {
				return errUnavailable
			}
		}
		return errOther
	}
	for _, target := range []error{io.EOF, io.ErrUnexpectedEOF, syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE, net.ErrClosed, redis.ErrPoolTimeout} {
		if errors.Is(err, target) {
			return errUnavailable
		}
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
		return errUnavailable
	}
	return errOther
}

// unavailable reports a Redis that cannot answer right now: the one kind
// of failure worth waiting for.
func unavailable(err error) bool { return classify(err) == errUnavailable }

// Transient reports an error of a Redis that cannot answer right now (a
// connection refused or lost, a timeout, a server loading its data, a
// cluster failover): a long-running view says it is reconnecting and tries
// again, where any other error ends it.
func Transient(err error) bool { return unavailable(err) }

// missing reports a reply that means "nothing there yet": a missing key,
// stream or group, or a nil reply.
func missing(err error) bool {
	k := classify(err)
	return k == errNil || k == errMissing
}

// replyCode is the error code of a Redis reply, its first word (WRONGPASS,
// NOAUTH, NOPERM …); "" for an error that is no reply.
func replyCode(err error) string {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return ""
	}
	code, _, _ := strings.Cut(rerr.Error(), " ")
	return code
}

// streamTopError reports XSETID's refusal to go below the stream's newest
// entry.
func streamTopError(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "smaller than the target stream top item")
}
