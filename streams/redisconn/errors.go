package redisconn

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// Kind is what a Redis error means to the code that got it. This file is
// the only place that looks at the text of Redis's replies.
type Kind int

const (
	// KindNone: no error.
	KindNone Kind = iota
	// KindNil: nothing there (redis.Nil): a missing key or field, an empty read.
	KindNil
	// KindMissing: the stream or the group does not exist yet.
	KindMissing
	// KindBusyGroup: XGROUP CREATE of a group that exists.
	KindBusyGroup
	// KindNoScript: EVALSHA of a script the server does not hold (it was
	// restarted or its script cache flushed).
	KindNoScript
	// KindUnavailable: the server cannot answer now (connection refused or
	// lost, timeout, loading its AOF, busy, a cluster failover): worth
	// waiting for and retrying.
	KindUnavailable
	// KindUnsupported: the server lacks the command or the section (the
	// embedded server: no XSETID, no INFO server).
	KindUnsupported
	// KindAuth: a wrong or missing password or user.
	KindAuth
	// KindCrossSlot: a script or transaction touched keys of two slots of a
	// cluster: a bug in the key layout, never the user's doing.
	KindCrossSlot
	// KindOther: any other reply or failure.
	KindOther
)

// unavailablePrefixes are the replies of a server that cannot answer now.
// MOVED and ASK reach the store only from a pipeline sent to one node (a
// durable append's EVALSHA+WAIT): a slot moving in a failover.
var unavailablePrefixes = []string{"LOADING", "BUSY ", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN", "READONLY", "MOVED ", "ASK "}

// Classify says what err means. Context cancellation is KindOther: the
// caller stopped, not Redis.
func Classify(err error) Kind {
	if err == nil {
		return KindNone
	}
	if errors.Is(err, redis.Nil) {
		return KindNil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return KindOther
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		upper := strings.ToUpper(msg)
		switch {
		case strings.HasPrefix(msg, "NOGROUP"), strings.Contains(msg, "no such key"):
			return KindMissing
		case strings.HasPrefix(msg, "BUSYGROUP"):
			return KindBusyGroup
		case strings.HasPrefix(msg, "NOSCRIPT"):
			return KindNoScript
		case strings.HasPrefix(msg, "WRONGPASS"), strings.HasPrefix(msg, "NOAUTH"), strings.HasPrefix(msg, "NOPERM"):
			return KindAuth
		case strings.HasPrefix(msg, "CROSSSLOT"):
			return KindCrossSlot
		case strings.Contains(upper, "UNKNOWN COMMAND"), strings.Contains(upper, "UNKNOWN SUBCOMMAND"), strings.Contains(msg, "not supported"):
			return KindUnsupported
		}
		for _, p := range unavailablePrefixes {
			if strings.HasPrefix(msg, p) {
				return KindUnavailable
			}
		}
		return KindOther
	}
	for _, target := range []error{io.EOF, io.ErrUnexpectedEOF, syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE, net.ErrClosed, redis.ErrPoolTimeout} {
		if errors.Is(err, target) {
			return KindUnavailable
		}
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
		return KindUnavailable
	}
	return KindOther
}

// Transient reports an error of a Redis that cannot answer right now (a
// connection refused or lost, a timeout, a server loading its data, a
// cluster failover): the one kind of failure worth waiting for. A
// long-running view says it is reconnecting and tries again, where any
// other error ends it.
func Transient(err error) bool { return Classify(err) == KindUnavailable }

// Missing reports a reply that means "nothing there yet": a missing key,
// stream or group, or a nil reply.
func Missing(err error) bool {
	k := Classify(err)
	return k == KindNil || k == KindMissing
}

// ReplyCode is the error code of a Redis reply, its first word (WRONGPASS,
// NOAUTH, NOPERM …); "" for an error that is no reply.
func ReplyCode(err error) string {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return ""
	}
	code, _, _ := strings.Cut(rerr.Error(), " ")
	return code
}

// StreamTopError reports XSETID's refusal to go below the stream's newest
// entry.
func StreamTopError(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "smaller than the target stream top item")
}
