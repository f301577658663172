package luaapi

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// syncWriter serialises writes: background workers log to the same output
// as the script's print().
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) redirect(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = w
}

// printTo is Lua's print, writing to w; tables are shown as the REPL
// shows values.
func printTo(w io.Writer) lua.LGFunction {
	return func(L *lua.LState) int {
		n := L.GetTop()
		parts := make([]string, n)
		for i := 1; i <= n; i++ {
			v := L.Get(i)
			if s, ok := v.(lua.LString); ok {
				parts[i-1] = string(s)
			} else {
				parts[i-1] = formatValue(v)
			}
		}
		fmt.Fprintln(w, strings.Join(parts, "\t"))
		return 0
	}
}

// echo prints a command's one-line summary when the host asks for it (the
// REPL: Config.Echo) and remembers the value it summarised, so the REPL
// does not print that value a second time as the chunk's result.
type echo struct {
	on    bool
	out   io.Writer
	shown []lua.LValue // this chunk's summarised values
}

func (e *echo) summary(v lua.LValue, format string, args ...any) {
	if e.on {
		fmt.Fprintf(e.out, format+"\n", args...)
		e.shown = append(e.shown, v)
	}
}

// quiet marks a value that its command already described in its own
// words, so the REPL does not print it either.
func (e *echo) quiet(v lua.LValue) {
	if e.on {
		e.shown = append(e.shown, v)
	}
}

// note prints a hint at the REPL beside a value it still shows (a script
// prints what it chooses).
func (e *echo) note(format string, args ...any) {
	if e.on {
		fmt.Fprintf(e.out, format+"\n", args...)
	}
}

func (e *echo) reset() { e.shown = e.shown[:0] }

func (e *echo) wasShown(v lua.LValue) bool { return slices.Contains(e.shown, v) }
