package localcluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// callTimeout bounds one round trip to a node, so a stopped or hung node
// cannot stall a health check.
const callTimeout = 2 * time.Second

// respError is an error reply (-ERR …) from a node.
type respError string

func (e respError) Error() string { return string(e) }

// pipeline sends cmds to addr in one round trip and returns their replies in
// order. A reply is a string (simple or bulk), an int64, a []any, nil (a null
// reply) or a respError. Plain RESP over TCP keeps the package free of a
// client library; these few admin commands need nothing more.
func pipeline(ctx context.Context, addr string, cmds ...[]string) ([]any, error) {
	dialer := net.Dialer{Timeout: callTimeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline := time.Now().Add(callTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	var req strings.Builder
	for _, args := range cmds {
		fmt.Fprintf(&req, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	if _, err := io.WriteString(conn, req.String()); err != nil {
		return nil, err
	}
	r := bufio.NewReader(conn)
	replies := make([]any, len(cmds))
	for i := range cmds {
		if replies[i], err = readReply(r); err != nil {
			return nil, fmt.Errorf("%s: %w", cmds[i][0], err)
		}
	}
	return replies, nil
}

// call sends one command and returns its reply as a string; an error reply
// is an error.
func call(ctx context.Context, addr string, args ...string) (string, error) {
	replies, err := pipeline(ctx, addr, args)
	if err != nil {
		return "", err
	}
	return text(replies[0])
}

// text is a string reply, or the error the reply stands for.
func text(reply any) (string, error) {
	switch v := reply.(type) {
	case string:
		return v, nil
	case respError:
		return "", v
	case int64:
		return strconv.FormatInt(v, 10), nil
	}
	return "", fmt.Errorf("unexpected reply %v", reply)
}

func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, fmt.Errorf("empty reply line")
	}
	head, rest := line[0], line[1:]
	switch head {
	case '+':
		return rest, nil
	case '-':
		return respError(rest), nil
	case ':':
		return strconv.ParseInt(rest, 10, 64)
	case '$':
		n, err := strconv.Atoi(rest)
		if err != nil {
			return nil, fmt.Errorf("bad bulk length %q", line)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2) // payload and its CRLF
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(rest)
		if err != nil {
			return nil, fmt.Errorf("bad array length %q", line)
		}
		if n < 0 {
			return nil, nil
		}
		items := make([]any, n)
		for i := range items {
			if items[i], err = readReply(r); err != nil {
				return nil, err
			}
		}
		return items, nil
	}
	return nil, fmt.Errorf("unexpected reply %q", line)
}

// infoField is the value of field in an INFO reply ("" if absent).
func infoField(info, field string) string {
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return v
		}
	}
	return ""
}
