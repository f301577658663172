package redisconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Tracer is a go-redis hook that prints each command a primitive sends, so
// a student sees the XADD / XREADGROUP behind a Lua call. Its zero value
// prints nothing until SetOutput.
type Tracer struct {
	mu sync.Mutex
	w  io.Writer
}

type untracedKey struct{}

// Untraced marks ctx so its commands are not traced (the state view's own
// XINFO calls would drown the commands a student asked about).
func Untraced(ctx context.Context) context.Context {
	return context.WithValue(ctx, untracedKey{}, true)
}

// SetOutput starts printing every Redis command to w; nil stops it.
func (t *Tracer) SetOutput(w io.Writer) {
	t.mu.Lock()
	t.w = w
	t.mu.Unlock()
}

// Enabled reports whether an output is set.
func (t *Tracer) Enabled() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.w != nil
}

func (t *Tracer) print(ctx context.Context, cmds ...redis.Cmder) {
	if ctx.Value(untracedKey{}) != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.w == nil {
		return
	}
	for _, c := range cmds {
		fmt.Fprintf(t.w, "  redis> %s\n", formatCommand(c.Args()))
	}
}

func (t *Tracer) printReply(ctx context.Context, reply string) {
	if ctx.Value(untracedKey{}) != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.w != nil {
		fmt.Fprintf(t.w, "  redis< %s\n", reply)
	}
}

// Note explains something in the trace that the commands alone would not.
func (t *Tracer) Note(ctx context.Context, msg string) {
	t.printReply(ctx, "(claimsctl: "+msg+")")
}

// DialHook, ProcessHook and ProcessPipelineHook make a Tracer a redis.Hook.
func (t *Tracer) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

func (t *Tracer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); name != "hello" && name != "client" {
			t.print(ctx, cmd)
		}
		err := next(ctx, cmd)
		// A refused command matters to a student reading the trace, e.g.
		// EVALSHA's NOSCRIPT before the client falls back to EVAL.
		if err != nil && !errors.Is(err, redis.Nil) {
			t.printReply(ctx, "(error) "+err.Error())
		}
		return err
	}
}

func (t *Tracer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		t.print(ctx, cmds...)
		return next(ctx, cmds)
	}
}

// formatCommand renders args the way redis-cli would accept them, with long
// values (a JSON payload, a script) shortened, and a command that carries a
// password reduced to its name.
func formatCommand(args []any) string {
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = fmt.Sprint(a)
	}
	if name, secret := carriesCredentials(words); secret {
		return name + " (credentials hidden)"
	}
	parts := make([]string, 0, len(words))
	for i, s := range words {
		if i == 0 {
			s = strings.ToUpper(s)
		}
		if len(s) > 60 {
			s = s[:57] + "..."
		}
		if s == "" || strings.ContainsAny(s, " \"'\n") {
			s = fmt.Sprintf("%q", s)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// carriesCredentials reports a command with a password among its
// arguments, and its name (with the subcommand) to print instead. A
// student's redis("CONFIG", "SET", "requirepass", …) is traced too, and the
// connection set-up sends AUTH or HELLO … AUTH on every new connection.
func carriesCredentials(words []string) (name string, secret bool) {
	if len(words) == 0 {
		return "", false
	}
	cmd := strings.ToUpper(words[0])
	sub := ""
	if len(words) > 1 {
		sub = strings.ToUpper(words[1])
	}
	switch {
	case cmd == "AUTH":
		return cmd, true
	case cmd == "HELLO", cmd == "MIGRATE":
		// HELLO [protover [AUTH user pass]]; MIGRATE … [AUTH pass | AUTH2 user pass]
		return cmd, slices.ContainsFunc(words[1:], func(w string) bool {
			return strings.EqualFold(w, "AUTH") || strings.EqualFold(w, "AUTH2")
		})
	case cmd == "CONFIG" && sub == "SET":
		// CONFIG SET name value [name value …]
		for i := 2; i < len(words); i += 2 {
			if p := strings.ToLower(words[i]); p == "requirepass" || p == "masterauth" {
				return cmd + " " + sub, true
			}
		}
	case cmd == "ACL" && sub == "SETUSER":
		// ACL SETUSER user [rule …]: >pass and <pass give one in clear,
		// #hash and !hash its SHA-256.
		for _, rule := range words[min(3, len(words)):] {
			if rule != "" && strings.ContainsRune("><#!", rune(rule[0])) {
				return cmd + " " + sub, true
			}
		}
	}
	return "", false
}
