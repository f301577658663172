package luaapi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"claimsctl/streams"

	lua "github.com/yuin/gopher-lua"
)

// Sandbox confines a Runtime's scripts to what grading a hand-in allows
// (claimsctl check, and run or the REPL with --sandbox): no os.execute and
// no environment; Lua code loads only from Dir and Lib; files are written
// only in TempDir; redis() reaches only the script's own keys. Every
// attempt to leave it is refused with an error and recorded (Escapes), so a
// script that catches the error is still caught.
type Sandbox struct {
	// Dir is the script's folder: dofile, loadfile, require and spawn load
	// Lua from it and its subfolders; a relative name is looked up there.
	Dir string
	// Lib are more folders of Lua modules for require (the exercise's
	// lib/), searched first: a hand-in's own file of a module's name does
	// not replace the exercise's checks.
	Lib []string
	// TempDir is the one folder scripts write to (report{out=},
	// trim{archive=}, os.remove, os.rename, os.tmpname); a relative path
	// lands there. import() reads from it, Dir or Lib.
	TempDir string
}

// jail is a Runtime's sandbox in force: its folders resolved, and the
// attempts to leave it. A nil *jail is no sandbox: every path is as given.
// A spawned consumer shares its parent's.
type jail struct {
	dir, temp string
	lib       []string
	prefix    string // redis() keys must start with it
	// checksModule, if set, gives what require returns for a module found
	// in a lib folder (HandIn's stand-in for the exercise's checks); ok
	// false loads the module as usual.
	checksModule func(L *lua.LState, name, path string) (module lua.LValue, ok bool)

	mu      sync.Mutex
	escapes []string
}

func newJail(s *Sandbox, store *streams.Store) *jail {
	if s == nil {
		return nil
	}
	j := &jail{dir: realPath(s.Dir), temp: realPath(s.TempDir), prefix: store.Keys().Prefix}
	for _, l := range s.Lib {
		j.lib = append(j.lib, realPath(l))
	}
	return j
}

// realPath is p absolute, with its symbolic links resolved as far as it
// exists: a link inside an allowed folder may point anywhere.
func realPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	rest := ""
	for cur := abs; ; cur = filepath.Dir(cur) {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(real, rest)
		}
		if cur == filepath.Dir(cur) {
			return abs
		}
		rest = filepath.Join(filepath.Base(cur), rest)
	}
}

func within(p, root string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// refuse records an attempt to leave the sandbox, at the script's line,
// and returns it as the error to raise.
func (j *jail) refuse(L *lua.LState, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	j.mu.Lock()
	j.escapes = append(j.escapes, scriptLine(L)+" "+msg)
	j.mu.Unlock()
	return errors.New(msg)
}

// scriptLine is "file:line:" of the innermost Lua code on the stack: the
// caller may be pcall, which has no line.
func scriptLine(L *lua.LState) string {
	for level := 1; ; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			return strings.TrimSpace(L.Where(1))
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err == nil && dbg.CurrentLine > 0 {
			return fmt.Sprintf("%s:%d:", dbg.Source, dbg.CurrentLine)
		}
	}
}

// Escapes lists the sandbox's refusals so far, each "file:line: what", in
// order (none without a sandbox).
func (r *Runtime) Escapes() []string {
	if r.jail == nil {
		return nil
	}
	r.jail.mu.Lock()
	defer r.jail.mu.Unlock()
	return slices.Clone(r.jail.escapes)
}

// code is the file a script may load Lua from: name found in Dir (when
// relative), inside Dir or a Lib folder.
func (j *jail) code(L *lua.LState, fn, name string) (string, error) {
	if j == nil {
		return name, nil
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(j.dir, p)
	}
	p = realPath(p)
	if within(p, j.dir) || slices.ContainsFunc(j.lib, func(l string) bool { return within(p, l) }) {
		return p, nil
	}
	return "", j.refuse(L, "%s: %s is outside the sandbox: Lua loads only from the exercise's folder and its lib/", fn, name)
}

// write is the file a script may write: inside TempDir, where a relative
// name lands.
func (j *jail) write(L *lua.LState, fn, name string) (string, error) {
	if j == nil {
		return name, nil
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(j.temp, p)
	}
	if p = realPath(p); within(p, j.temp) {
		return p, nil
	}
	return "", j.refuse(L, "%s: %s is outside the sandbox: files are written only in its temp folder (give a relative path)", fn, name)
}

// read is the data file a script may read: a relative name in TempDir if
// it is there (a file the script wrote), else in Dir; inside TempDir, Dir
// or a Lib folder.
func (j *jail) read(L *lua.LState, fn, name string) (string, error) {
	if j == nil {
		return name, nil
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(j.temp, p)
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			p = filepath.Join(j.dir, name)
		}
	}
	p = realPath(p)
	if within(p, j.temp) || within(p, j.dir) || slices.ContainsFunc(j.lib, func(l string) bool { return within(p, l) }) {
		return p, nil
	}
	return "", j.refuse(L, "%s: %s is outside the sandbox: files are read only from the exercise's folder, its lib/ and the temp folder", fn, name)
}

// lock replaces what a sandboxed script must not have: os.execute and the
// environment, and the functions that load files or write them.
func (j *jail) lock(L *lua.LState) {
	refused := func(name string) *lua.LFunction {
		return L.NewFunction(func(L *lua.LState) int {
			return raise(L, j.refuse(L, "%s is not available in the sandbox", name))
		})
	}
	if osLib, ok := L.GetGlobal("os").(*lua.LTable); ok {
		osLib.RawSetString("execute", refused("os.execute"))
		osLib.RawSetString("setenv", refused("os.setenv"))
		// The environment holds the connection, password included: a
		// sandboxed script sees none of it (and nil is what a script that
		// reads an optional setting expects).
		osLib.RawSetString("getenv", L.NewFunction(func(L *lua.LState) int {
			L.CheckString(1)
			L.Push(lua.LNil)
			return 1
		}))
		osLib.RawSetString("remove", L.NewFunction(j.osRemove))
		osLib.RawSetString("rename", L.NewFunction(j.osRename))
		osLib.RawSetString("tmpname", L.NewFunction(j.osTmpname))
	}
	L.SetGlobal("dofile", L.NewFunction(j.dofile))
	L.SetGlobal("loadfile", L.NewFunction(j.loadfile))
	// require's second loader searches package.path, which a script may
	// change: the sandbox's searches its own folders whatever it says.
	if loaders, ok := L.GetField(L.Get(lua.RegistryIndex), "_LOADERS").(*lua.LTable); ok {
		loaders.RawSetInt(2, L.NewFunction(j.loadModule))
	}
	if pkg, ok := L.GetGlobal("package").(*lua.LTable); ok {
		var patterns []string
		for _, d := range j.moduleDirs() {
			patterns = append(patterns, filepath.Join(d, "?.lua"))
		}
		pkg.RawSetString("path", lua.LString(strings.Join(patterns, ";")))
	}
}

// moduleDirs are where require looks: Lib, then Dir and Dir/lib.
func (j *jail) moduleDirs() []string {
	var out []string
	for _, d := range append(slices.Clone(j.lib), j.dir, filepath.Join(j.dir, "lib")) {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

var moduleName = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// loadModule is require's file loader in the sandbox: it returns the
// loaded chunk, or a message saying where it looked.
func (j *jail) loadModule(L *lua.LState) int {
	name := L.CheckString(1)
	if !moduleName.MatchString(name) {
		L.Push(lua.LString(fmt.Sprintf("no module may be called %q", name)))
		return 1
	}
	file := strings.ReplaceAll(name, ".", string(filepath.Separator)) + ".lua"
	dirs := j.moduleDirs()
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, file)); err != nil {
			continue
		}
		if j.checksModule != nil && slices.Contains(j.lib, d) {
			if mod, ok := j.checksModule(L, name, filepath.Join(d, file)); ok {
				L.Push(L.NewFunction(func(L *lua.LState) int {
					L.Push(mod)
					return 1
				}))
				return 1
			}
		}
		p, err := j.code(L, "require", filepath.Join(d, file))
		if err != nil {
			return raise(L, err)
		}
		fn, err := L.LoadFile(p)
		if err != nil {
			return raise(L, errors.New(syntaxMessage(err, "")))
		}
		L.Push(fn)
		return 1
	}
	L.Push(lua.LString(fmt.Sprintf("no file %s in %s", file, strings.Join(dirs, ", "))))
	return 1
}

func (j *jail) loadfile(L *lua.LState) int {
	name := L.CheckString(1)
	p, err := j.code(L, "loadfile", name)
	if err != nil {
		return raise(L, err)
	}
	fn, err := L.LoadFile(p)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(syntaxMessage(err, "")))
		return 2
	}
	L.Push(fn)
	return 1
}

func (j *jail) dofile(L *lua.LState) int {
	name := L.CheckString(1)
	p, err := j.code(L, "dofile", name)
	if err != nil {
		return raise(L, err)
	}
	fn, err := L.LoadFile(p)
	if err != nil {
		return raise(L, errors.New(syntaxMessage(err, "")))
	}
	top := L.GetTop()
	L.Push(fn)
	L.Call(0, lua.MultRet)
	return L.GetTop() - top
}

// osRemove, osRename and osTmpname are gopher-lua's, inside TempDir.
func (j *jail) osRemove(L *lua.LState) int {
	p, err := j.write(L, "os.remove", L.CheckString(1))
	if err != nil {
		return raise(L, err)
	}
	return osResult(L, os.Remove(p))
}

func (j *jail) osRename(L *lua.LState) int {
	from, err := j.write(L, "os.rename", L.CheckString(1))
	if err != nil {
		return raise(L, err)
	}
	to, err := j.write(L, "os.rename", L.CheckString(2))
	if err != nil {
		return raise(L, err)
	}
	return osResult(L, os.Rename(from, to))
}

func (j *jail) osTmpname(L *lua.LState) int {
	f, err := os.CreateTemp(j.temp, "lua_")
	if err != nil {
		return raise(L, fmt.Errorf("os.tmpname: %w", err))
	}
	f.Close()
	L.Push(lua.LString(f.Name()))
	return 1
}

// osResult is what os.remove and os.rename return: true, or nil and why.
func osResult(L *lua.LState, err error) int {
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(lua.LTrue)
	return 1
}

// keyArgs says where a Redis command's keys are among its arguments
// (1 = the first after the command's name): from first on, every step-th
// one, all of them when step is set, else only first.
type keyArgs struct{ first, step int }

// sandboxCommands are the commands redis() may send in the sandbox: data
// commands on named keys, each of which must be the script's own (under its
// prefix: key("name") gives it). Server commands (CONFIG, FLUSHALL, SAVE,
// EVAL, KEYS …) could reach other keys or the server's own files.
var sandboxCommands = func() map[string]keyArgs {
	m := map[string]keyArgs{"PING": {}, "ECHO": {}, "TIME": {}}
	for _, c := range strings.Fields(`GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX APPEND STRLEN GETRANGE SETRANGE
		INCR INCRBY INCRBYFLOAT DECR DECRBY EXPIRE PEXPIRE EXPIREAT TTL PTTL PERSIST TYPE
		HGET HSET HSETNX HMSET HMGET HGETALL HDEL HEXISTS HINCRBY HINCRBYFLOAT HKEYS HVALS HLEN
		LPUSH RPUSH LPOP RPOP LRANGE LLEN LINDEX LSET LREM LTRIM LINSERT
		SADD SREM SMEMBERS SISMEMBER SCARD SPOP SRANDMEMBER
		ZADD ZREM ZRANGE ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZSCORE ZCARD ZINCRBY ZRANK ZREVRANK ZCOUNT
		XADD XLEN XRANGE XREVRANGE XDEL XTRIM XACK XPENDING XCLAIM XAUTOCLAIM`) {
		m[c] = keyArgs{first: 1}
	}
	for _, c := range []string{"DEL", "UNLINK", "EXISTS", "MGET", "TOUCH"} {
		m[c] = keyArgs{first: 1, step: 1}
	}
	m["MSET"] = keyArgs{first: 1, step: 2}
	// XGROUP CREATE key group …, XINFO STREAM key …: the key follows the
	// subcommand.
	m["XGROUP"] = keyArgs{first: 2}
	m["XINFO"] = keyArgs{first: 2}
	return m
}()

// redisCommand checks a redis() command against sandboxCommands.
func (j *jail) redisCommand(L *lua.LState, args []string) error {
	if j == nil {
		return nil
	}
	name := strings.ToUpper(args[0])
	spec, ok := sandboxCommands[name]
	if !ok {
		return j.refuse(L, "redis %s is not available in the sandbox: only data commands on the script's own keys", name)
	}
	if spec.first == 0 {
		return nil
	}
	for i := spec.first; i < len(args); i += spec.step {
		if !strings.HasPrefix(args[i], j.prefix) {
			return j.refuse(L, "redis %s: %s is not one of the script's own keys in the sandbox: name them with key(%q)", name, args[i], args[i])
		}
		if spec.step == 0 {
			break
		}
	}
	return nil
}
