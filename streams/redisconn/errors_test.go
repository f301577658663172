package redisconn

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
		want Kind
	}{
		{nil, KindNone},
		{redis.Nil, KindNil},
		{fmt.Errorf("read: %w", redis.Nil), KindNil},
		{replyError("NOGROUP No such key 'claims:events' or consumer group 'x' in XREADGROUP with GROUP option"), KindMissing},
		{replyError("ERR no such key"), KindMissing},
		{replyError("BUSYGROUP Consumer Group name already exists"), KindBusyGroup},
		{replyError("NOSCRIPT No matching script. Please use EVAL."), KindNoScript},
		{replyError("LOADING Redis is loading the dataset in memory"), KindUnavailable},
		{replyError("BUSY Redis is busy running a script."), KindUnavailable},
		{replyError("TRYAGAIN Multiple keys request during rehashing of slot"), KindUnavailable},
		{replyError("CLUSTERDOWN The cluster is down"), KindUnavailable},
		{replyError("MASTERDOWN Link with MASTER is down"), KindUnavailable},
		{replyError("READONLY You can't write against a read only replica."), KindUnavailable},
		{replyError("WRONGPASS invalid username-password pair or user is disabled."), KindAuth},
		{replyError("NOAUTH Authentication required."), KindAuth},
		{replyError("CROSSSLOT Keys in request don't hash to the same slot"), KindCrossSlot},
		{replyError("ERR unknown command 'XSETID', with args beginning with: "), KindUnsupported},
		{replyError("ERR unknown subcommand 'SHARDS'. Try CLUSTER HELP."), KindUnsupported},
		{replyError("ERR section (server) is not supported"), KindUnsupported},
		{replyError("ERR wrong number of arguments for 'xadd' command"), KindOther},
		{io.EOF, KindUnavailable},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), KindUnavailable},
		{&net.OpError{Op: "read", Err: errors.New("i/o timeout")}, KindUnavailable},
		{redis.ErrPoolTimeout, KindUnavailable},
		{context.Canceled, KindOther},
		{context.DeadlineExceeded, KindOther},
		{errors.New("something else"), KindOther},
	}
	for _, tt := range tests {
		got := Classify(tt.err)
		assert.Equal(t, tt.want, got, "%v", tt.err)
	}
	assert.True(t, Transient(io.EOF))
	assert.True(t, Missing(redis.Nil))
	assert.True(t, StreamTopError(replyError("ERR The ID specified in XSETID is smaller than the target stream top item")))
}

func TestReplyCode(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "WRONGPASS", ReplyCode(fmt.Errorf("ping: %w", replyError("WRONGPASS invalid username-password pair or user is disabled."))))
	assert.Equal(t, "NOAUTH", ReplyCode(replyError("NOAUTH Authentication required.")))
	assert.Equal(t, "PONG", ReplyCode(replyError("PONG")))
	assert.Equal(t, "", ReplyCode(io.EOF), "no reply")
	assert.Equal(t, "", ReplyCode(nil))
}
