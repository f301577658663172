package streams

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
)

// replyError is a reply of the server, as go-redis hands it out.
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want errKind
	}{
		{nil, errNone},
		{redis.Nil, errNil},
		{fmt.Errorf("read: %w", redis.Nil), errNil},
		{replyError("NOGROUP No such key 'claims:events' or consumer group 'x' in XREADGROUP with GROUP option"), errMissing},
		{replyError("ERR no such key"), errMissing},
		{replyError("BUSYGROUP Consumer Group name already exists"), errBusyGroup},
		{replyError("NOSCRIPT No matching script. Please use EVAL."), errNoScript},
		{replyError("LOADING Redis is loading the dataset in memory"), errUnavailable},
		{replyError("BUSY Redis is busy running a script."), errUnavailable},
		{replyError("TRYAGAIN Multiple keys request during rehashing of slot"), errUnavailable},
		{replyError("CLUSTERDOWN The cluster is down"), errUnavailable},
		{replyError("MASTERDOWN Link with MASTER is down"), errUnavailable},
		{replyError("READONLY You can't write against a read only replica."), errUnavailable},
		{replyError("WRONGPASS invalid username-password pair or user is disabled."), errAuth},
		{replyError("NOAUTH Authentication required."), errAuth},
		{replyError("CROSSSLOT Keys in request don't hash to the same slot"), errCrossSlot},
		{replyError("ERR unknown command 'XSETID', with args beginning with: "), errUnsupported},
		{replyError("ERR unknown subcommand 'SHARDS'. Try CLUSTER HELP."), errUnsupported},
		{replyError("ERR section (server) is not supported"), errUnsupported},
		{replyError("ERR wrong number of arguments for 'xadd' command"), errOther},
		{io.EOF, errUnavailable},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), errUnavailable},
		{&net.OpError{Op: "read", Err: errors.New("i/o timeout")}, errUnavailable},
		{redis.ErrPoolTimeout, errUnavailable},
		{context.Canceled, errOther},
		{context.DeadlineExceeded, errOther},
		{errors.New("something else"), errOther},
	}
	for _, tt := range tests {
		got := classify(tt.err)
		assert.Equal(t, tt.want, got, "%v", tt.err)
	}
	assert.True(t, unavailable(io.EOF))
	assert.True(t, missing(redis.Nil))
	assert.True(t, streamTopError(replyError("ERR The ID specified in XSETID is smaller than the target stream top item")))
}

func TestReplyCode(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "WRONGPASS", replyCode(fmt.Errorf("ping: %w", replyError("WRONGPASS invalid username-password pair or user is disabled."))))
	assert.Equal(t, "NOAUTH", replyCode(replyError("NOAUTH Authentication required.")))
	assert.Equal(t, "PONG", replyCode(replyError("PONG")))
	assert.Equal(t, "", replyCode(io.EOF), "no reply")
	assert.Equal(t, "", replyCode(nil))
}
