package redisconn

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFormatCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []any
		want string
	}{
		{[]any{"xadd", "claims:events", "*", "type", "claim.submitted"}, "XADD claims:events * type claim.submitted"},
		{[]any{"set", "k", "two words"}, `SET k "two words"`},
		{[]any{"set", "k", ""}, `SET k ""`},
		{[]any{"set", "k", strings.Repeat("x", 70)}, "SET k " + strings.Repeat("x", 57) + "..."},
		{[]any{"xlen", 42}, "XLEN 42"},
		{[]any{"config", "set", "maxmemory", "10mb"}, "CONFIG set maxmemory 10mb"},
		{[]any{"hello", "3"}, "HELLO 3"},
		{[]any{"acl", "setuser", "bob", "on", "~*", "+@all"}, "ACL setuser bob on ~* +@all"},
		{[]any{"migrate", "127.0.0.1", "6380", "k", "0", "1000"}, "MIGRATE 127.0.0.1 6380 k 0 1000"},

		{[]any{"auth", secret}, "AUTH (credentials hidden)"},
		{[]any{"AUTH", "alice", secret}, "AUTH (credentials hidden)"},
		{[]any{"hello", "3", "auth", "alice", secret}, "HELLO (credentials hidden)"},
		{[]any{"hello", "2", "SETNAME", "x", "AUTH", "alice", secret}, "HELLO (credentials hidden)"},
		{[]any{"config", "set", "requirepass", secret}, "CONFIG SET (credentials hidden)"},
		{[]any{"CONFIG", "SET", "maxmemory", "10mb", "RequirePass", secret}, "CONFIG SET (credentials hidden)"},
		{[]any{"config", "set", "masterauth", secret}, "CONFIG SET (credentials hidden)"},
		{[]any{"acl", "setuser", "bob", "on", ">" + secret, "~*"}, "ACL SETUSER (credentials hidden)"},
		{[]any{"acl", "SetUser", "bob", "<" + secret}, "ACL SETUSER (credentials hidden)"},
		{[]any{"acl", "setuser", "bob", "#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"}, "ACL SETUSER (credentials hidden)"},
		{[]any{"acl", "setuser", "bob", "!5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"}, "ACL SETUSER (credentials hidden)"},
		{[]any{"migrate", "127.0.0.1", "6380", "", "0", "1000", "AUTH", secret, "KEYS", "a"}, "MIGRATE (credentials hidden)"},
		{[]any{"migrate", "127.0.0.1", "6380", "", "0", "1000", "COPY", "auth2", "alice", secret, "KEYS", "a"}, "MIGRATE (credentials hidden)"},
	}
	for _, tt := range tests {
		// Named without the secret, so that not even -v prints it.
		name := strings.ReplaceAll(strings.TrimSpace(fmt.Sprintln(tt.args...)), secret, "SECRET")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, formatCommand(tt.args))
		})
	}
}

// TestTraceHidesCredentials sends what a student may type at the REPL to
// a real server that needs a password, with the trace on from the first
// command (so the connection's own AUTH is traced as well).
func TestTraceHidesCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startLocked(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: secret, Protocol: 2})
	t.Cleanup(func() { _ = rdb.Close() })
	tracer := &Tracer{}
	rdb.AddHook(tracer)
	var trace strings.Builder
	tracer.SetOutput(&trace)

	for _, cmd := range [][]any{
		{"CONFIG", "SET", "requirepass", secret},
		{"ACL", "SETUSER", "student", "on", ">" + secret, "~*", "+@all"},
		{"AUTH", "student", secret},
		{"MIGRATE", "127.0.0.1", strconv.Itoa(srv.Port()), "", "0", "1000", "AUTH", secret, "KEYS", "no-such-key"},
		{"MIGRATE", "127.0.0.1", strconv.Itoa(srv.Port()), "", "0", "1000", "AUTH2", "student", secret, "KEYS", "no-such-key"},
		{"CONFIG", "SET", "maxmemory-policy", "noeviction"},
	} {
		err := rdb.Do(ctx, cmd...).Err()
		require.NoError(t, err, "%s %s", cmd[0], cmd[1])
	}
	err := rdb.Do(ctx, "AUTH", "student", "not-"+secret).Err()
	require.Error(t, err)

	out := trace.String()
	assert.NotContains(t, out, secret)
	assert.Contains(t, out, "redis> CONFIG SET (credentials hidden)\n")
	assert.Contains(t, out, "redis> ACL SETUSER (credentials hidden)\n")
	assert.Contains(t, out, "redis> AUTH (credentials hidden)\n")
	assert.Contains(t, out, "redis< (error) WRONGPASS", "a refusal is shown, without what was refused")
	assert.Equal(t, 2, strings.Count(out, "redis> MIGRATE (credentials hidden)\n"))
	assert.Contains(t, out, "redis> CONFIG SET maxmemory-policy noeviction\n", "other commands are traced in full")
}
