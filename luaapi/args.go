package luaapi

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"

	lua "github.com/yuin/gopher-lua"
)

// Reading a function's arguments, and raising the errors a student sees.

// options reads an options table, refusing unknown keys so a typo such as
// {cuont=5} is an error instead of being silently ignored.
type options struct {
	L     *lua.LState
	arg   int
	fn    string
	table *lua.LTable
}

func optionsAt(L *lua.LState, n int, fn string, allowed ...string) options {
	o := options{L: L, arg: n, fn: fn}
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return o
	case *lua.LTable:
		o.table = v
	default:
		argError(L, n, fn, fmt.Sprintf("options must be a table like {%s=...}, got %s", allowed[0], v.Type()))
	}
	var bad []string
	o.table.ForEach(func(k, _ lua.LValue) {
		name := k.String()
		for _, a := range allowed {
			if name == a {
				return
			}
		}
		bad = append(bad, name)
	})
	if len(bad) > 0 {
		sort.Strings(bad)
		argError(L, n, fn, fmt.Sprintf("unknown option %q (options: %s)", bad[0], strings.Join(allowed, ", ")))
	}
	return o
}

// get is an option's raw value (LNil when not given).
func (o options) get(key string) lua.LValue {
	if o.table == nil {
		return lua.LNil
	}
	return o.table.RawGetString(key)
}

func (o options) has(key string) bool {
	return o.table != nil && o.table.RawGetString(key) != lua.LNil
}

func (o options) str(key, def string) string {
	if !o.has(key) {
		return def
	}
	switch v := o.table.RawGetString(key).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	default:
		argError(o.L, o.arg, o.fn, fmt.Sprintf("option %s must be a string, got %s", key, v.Type()))
	}
	return def
}

// text reads an option that must be a string (a name, an actor): unlike
// str, a number is refused rather than turned into one.
func (o options) text(key, def string) string {
	if !o.has(key) {
		return def
	}
	v, ok := o.table.RawGetString(key).(lua.LString)
	if !ok {
		argError(o.L, o.arg, o.fn, fmt.Sprintf("option %s must be a string, got %s", key, o.table.RawGetString(key).Type()))
	}
	return string(v)
}

// maxMillis is the most milliseconds a time.Duration holds (about 292
// years): a larger option would wrap around to a negative duration.
const maxMillis = math.MaxInt64 / int64(time.Millisecond)

// whole reads an option that is a whole number from least to most (a
// count, a limit, milliseconds): 1.5, NaN and 1e300 are refused naming the
// option, never truncated or wrapped.
func (o options) whole(key string, def, least, most int64) int64 {
	if !o.has(key) {
		return def
	}
	v, ok := o.table.RawGetString(key).(lua.LNumber)
	if !ok {
		argError(o.L, o.arg, o.fn, fmt.Sprintf("option %s must be a whole number, got %s", key, o.table.RawGetString(key).Type()))
	}
	n, problem := wholeNumber(float64(v), least, most)
	if problem != "" {
		argError(o.L, o.arg, o.fn, fmt.Sprintf("option %s %s", key, problem))
	}
	return n
}

// millis reads a whole number of milliseconds of at least least.
func (o options) millis(key string, def time.Duration, least int64) time.Duration {
	return time.Duration(o.whole(key, def.Milliseconds(), least, maxMillis)) * time.Millisecond
}

// seconds reads a number of seconds above 0 (fractions allowed).
func (o options) seconds(key string, def float64) time.Duration {
	f := o.num(key, def)
	if math.IsNaN(f) || f <= 0 || f > float64(maxMillis/1000) {
		argError(o.L, o.arg, o.fn, fmt.Sprintf("option %s must be a number of seconds above 0 and at most %d, got %s", key, maxMillis/1000, claims.FormatNumber(f)))
	}
	return time.Duration(f * float64(time.Second))
}

// wholeNumber checks that f is a whole number from least to most, and says
// what is wrong with it otherwise.
func wholeNumber(f float64, least, most int64) (int64, string) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f):
		return 0, "must be a whole number, got " + claims.FormatNumber(f)
	case f < float64(least):
		return 0, fmt.Sprintf("must be a whole number of at least %d, got %s", least, claims.FormatNumber(f))
	// float64(math.MaxInt64) is 2^63, which int64 cannot hold either.
	case f > float64(most) || f >= 0x1p63:
		return 0, fmt.Sprintf("must be a whole number of at most %d, got %s", most, claims.FormatNumber(f))
	}
	return int64(f), ""
}

func (o options) num(key string, def float64) float64 {
	if !o.has(key) {
		return def
	}
	v, ok := o.table.RawGetString(key).(lua.LNumber)
	if !ok {
		argError(o.L, o.arg, o.fn, fmt.Sprintf("option %s must be a number, got %s", key, o.table.RawGetString(key).Type()))
	}
	return float64(v)
}

func (o options) boolean(key string, def bool) bool {
	if !o.has(key) {
		return def
	}
	v, ok := o.table.RawGetString(key).(lua.LBool)
	if !ok {
		argError(o.L, o.arg, o.fn, fmt.Sprintf("option %s must be true or false, got %s", key, o.table.RawGetString(key).Type()))
	}
	return bool(v)
}

// argError raises "fn: bad argument #n: msg". Unlike L.ArgError it names
// the function even when it was called through pcall.
func argError(L *lua.LState, n int, fn, msg string) {
	L.RaiseError("%s: bad argument #%d: %s", fn, n, msg)
}

// consumerArg reads the consumer name, argument 2 of a function whose
// first is the group. Left out, it says what the name is for rather than
// "string expected, got nil": consume("analytics") is a common first try.
func consumerArg(L *lua.LState, fn string) string {
	if L.Get(2) == lua.LNil {
		group := "analytics"
		if g, ok := L.Get(1).(lua.LString); ok {
			group = string(g)
		}
		argError(L, 2, fn, fmt.Sprintf("a consumer name is missing: %s(%q, \"c1\") reads as consumer c1 of that group. "+
			"Each consumer of a group gets its own share of the entries, and its own pending list", fn, group))
	}
	return L.CheckString(2)
}

// raise turns a Go error into a Lua error at the caller's line. Domain
// errors already read as sentences; they are passed on as they are.
func raise(L *lua.LState, err error) int {
	L.RaiseError("%s", err.Error())
	return 0
}

// claimIDArg reads the claim id argument n: a claim id or a prefix of one,
// refused before any Redis call when no claim could have it.
func claimIDArg(L *lua.LState, n int, fn string) string {
	id := L.CheckString(n)
	checkClaimID(L, n, fn, "claim id", id)
	return id
}

// checkClaimID refuses an id no claim can have, naming it as the caller
// typed it (what), and without repeating it: it may be 1 MB.
func checkClaimID(L *lua.LState, n int, fn, what, id string) {
	err := claims.ValidClaimID(id)
	if err == nil {
		return
	}
	var verr *claims.ValidationError
	if errors.As(err, &verr) {
		argError(L, n, fn, what+" "+verr.Rule)
	}
	argError(L, n, fn, err.Error())
}

// refsOf reads entries to ack: an event from consume (it names its
// stream), a stream id, or a list of those.
func refsOf(L *lua.LState, n int, fn string) []streams.EntryRef {
	one := func(v lua.LValue, item string) (streams.EntryRef, bool) {
		switch x := v.(type) {
		case lua.LString:
			return streams.EntryRef{ID: string(x)}, true
		case *lua.LTable:
			id, ok := x.RawGetString("id").(lua.LString)
			if !ok {
				return streams.EntryRef{}, false
			}
			stream, _ := x.RawGetString("stream").(lua.LString)
			return streams.EntryRef{Stream: string(stream), ID: string(id)}, true
		}
		argError(L, n, fn, fmt.Sprintf("%s is a %s, want an event or a stream id", item, v.Type()))
		return streams.EntryRef{}, false
	}
	v := L.Get(n)
	if t, ok := v.(*lua.LTable); ok && t.RawGetString("id") == lua.LNil {
		var refs []streams.EntryRef
		for i := 1; i <= t.Len(); i++ {
			r, ok := one(t.RawGetInt(i), fmt.Sprintf("item %d", i))
			if !ok {
				argError(L, n, fn, fmt.Sprintf("item %d has no id", i))
			}
			refs = append(refs, r)
		}
		return refs
	}
	if _, ok := v.(lua.LString); !ok {
		if _, ok := v.(*lua.LTable); !ok {
			argError(L, n, fn, fmt.Sprintf("want events (from consume) or stream ids, got %s", v.Type()))
		}
	}
	r, _ := one(v, "the argument")
	return []streams.EntryRef{r}
}

// lastUnixSecond is the last second a time option can name (RFC 3339
// writes years up to 9999).
var lastUnixSecond = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()

// bound reads an option that is a stream id or a time: a string as
// claims.ParseBound reads it, or a number of seconds since 1970, as
// os.time() gives (as a string of digits it would be an entry id, in
// milliseconds: 1970). os.time() drops the fraction of the second, so for
// an upper bound (upTo: at=, to=) a whole second means all of it: "at
// os.time()" includes what happened earlier in this very second.
func (o options) bound(key string, upTo bool) (string, time.Time) {
	if n, ok := o.table.RawGetString(key).(lua.LNumber); ok {
		f := float64(n)
		if math.IsNaN(f) || f < 0 || f > float64(lastUnixSecond) {
			argError(o.L, o.arg, o.fn, fmt.Sprintf("option %s: %s is not a time: a number is seconds since 1970 (os.time()), up to the year 9999", key, claims.FormatNumber(f)))
		}
		sec, frac := math.Modf(f)
		t := time.Unix(int64(sec), int64(frac*1e9)).UTC()
		if upTo && frac == 0 {
			t = t.Add(time.Second - time.Nanosecond)
		}
		return "", t
	}
	id, t, err := claims.ParseBound(o.str(key, ""))
	if err != nil {
		argError(o.L, o.arg, o.fn, fmt.Sprintf("%s: %v", key, err))
	}
	return id, t
}
