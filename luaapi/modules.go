package luaapi

import (
	"claimsctl/streams"
	"claimsctl/streams/streamview"
	"context"
	"maps"
	"slices"

	lua "github.com/yuin/gopher-lua"
)

// modules is the one list of the Lua API: require name -> loader. Each
// module is a struct holding what its functions need. Their Lua
// signatures are documented in docs.go, and only there; the tests hold
// the two together.
func (r *Runtime) modules() map[string]lua.LGFunction {
	workers := &workersModule{store: r.store, pool: r.pool, echo: r.echo, jail: r.jail, launcher: r.cfg.Launcher, memory: r.cfg.ConsumerMemory, host: r.cfg.Host, newConsumerRuntime: r.newConsumerRuntime}
	return map[string]lua.LGFunction{
		"claims.produce": (&produceModule{store: r.store, out: r.out, echo: r.echo, progress: progress{out: r.out, on: r.cfg.Color}, loops: r.loops}).Loader,
		"claims.consume": (&consumeModule{store: r.store, out: r.out, echo: r.echo}).Loader,
		"claims.workers": workers.Loader,
		"claims.chaos":   (&chaosModule{store: r.store, workers: workers, out: r.out}).Loader,
		"claims.replay":  (&replayModule{store: r.store, out: r.out, echo: r.echo}).Loader,
		"claims.report":  (&reportModule{store: r.store, out: r.out, echo: r.echo, jail: r.jail, tty: r.cfg.TTY, color: r.cfg.Color, width: r.cfg.Width}).Loader,
		"claims.ops":     (&opsModule{store: r.store, out: r.out, echo: r.echo, jail: r.jail, progress: progress{out: r.out, on: r.cfg.Color}, backend: r.cfg.Backend}).Loader,
		"claims.teach":   (&teachModule{store: r.store, out: r.out, exp: r.exp, echo: r.echo}).Loader,
		"claims.lab":     (&labModule{store: r.store, out: r.out, jail: r.jail, backend: r.cfg.Backend, ephemeral: r.cfg.Ephemeral, switchTo: r.switchStore, home: r.cfg.Store, pool: r.pool}).Loader,
	}
}

// namespaced are the modules whose functions are not globals each but
// fields of one global table: chaos.kill reads as what it does, and
// breaking things stays one deliberate word away.
var namespaced = map[string]string{"claims.chaos": "chaos"}

// switchStore moves the session to another store (nil: its own) and loads
// every module again on it, so that every global uses it from now on.
// Workers started before keep theirs.
func (r *Runtime) switchStore(s *streams.Store) {
	if s == nil {
		s = r.cfg.Store
	}
	r.store, r.pool.store = s, s
	if loaded, ok := r.L.GetField(r.L.GetGlobal("package"), "loaded").(*lua.LTable); ok {
		for name := range r.modules() {
			loaded.RawSetString(name, lua.LNil)
		}
	}
	r.openModules()
}

// State is the state view of the keyspace the session is in now.
func (r *Runtime) State(ctx context.Context) (*streamview.State, error) { return r.store.State(ctx) }

// openModules makes every module loadable with require and loads it, so
// that its functions are also globals: a student types submit{...} with no
// ceremony, and require("claims.produce").submit is that same function.
func (r *Runtime) openModules() {
	mods := r.modules()
	for name, loader := range mods {
		r.L.PreloadModule(name, loader)
	}
	for _, name := range slices.Sorted(maps.Keys(mods)) {
		r.L.Push(r.L.GetGlobal("require"))
		r.L.Push(lua.LString(name))
		r.L.Call(1, 1)
		mod := r.L.CheckTable(-1)
		r.L.Pop(1)
		if global, ok := namespaced[name]; ok {
			r.L.SetGlobal(global, mod)
			continue
		}
		mod.ForEach(func(k, fn lua.LValue) { r.L.SetGlobal(k.String(), fn) })
	}
}
