package luaapi

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// TestMaintenanceLuaSuite runs every Test* function of
// testdata/maintenance_test.lua as a subtest on both backends.
func TestMaintenanceLuaSuite(t *testing.T) {
	t.Parallel()
	const file = "testdata/maintenance_test.lua"
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	names := regexp.MustCompile(`(?m)^function (Test\w+)\(`).FindAllStringSubmatch(string(src), -1)
	require.NotEmpty(t, names)
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		backend := "redis"
		if strings.Contains(t.Name(), "/embedded") {
			backend = "embedded"
		}
		for _, m := range names {
			name := m[1]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				store := newStore(t, streams.Options{})
				rt, out := newRuntime(t, store, false)
				installTestHelpers(t, rt, store, backend)
				ctx := context.Background()
				require.NoError(t, rt.DoFile(ctx, file))
				err := rt.DoString(ctx, name+"()", name)
				require.NoError(t, err, "output:\n%s", out.String())
				assert.Zero(t, rt.Failed(), "failed expectations:\n%s", out.String())
			})
		}
	})
}

// installTestHelpers gives a test runtime what Lua lacks for testing
// maintenance: files (io only writes to the terminal) and raw Redis access for
// setting up damage (deleted aggregates, hand-written entries).
func installTestHelpers(t *testing.T, rt *Runtime, store *streams.Store, backend string) {
	L := rt.L
	keys := store.Keys()
	rdb := store.Client()
	L.SetGlobal("tmp", lua.LString(t.TempDir()))
	L.SetGlobal("backend", lua.LString(backend))
	L.SetGlobal("write_file", L.NewFunction(func(L *lua.LState) int {
		path := L.CheckString(1)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			L.RaiseError("%v", err)
		}
		if err := os.WriteFile(path, []byte(L.CheckString(2)), 0o644); err != nil {
			L.RaiseError("%v", err)
		}
		return 0
	}))
	L.SetGlobal("read_file", L.NewFunction(func(L *lua.LState) int {
		raw, err := os.ReadFile(L.CheckString(1))
		if errors.Is(err, fs.ErrNotExist) {
			L.Push(lua.LNil)
			return 1
		}
		if err != nil {
			L.RaiseError("%v", err)
		}
		L.Push(lua.LString(raw))
		return 1
	}))
	L.SetGlobal("stream_ids", L.NewFunction(func(L *lua.LState) int {
		msgs, err := rdb.XRange(ctxOf(L), keys.Named(L.CheckString(1)), "-", "+").Result()
		if err != nil {
			L.RaiseError("%v", err)
		}
		t := L.NewTable()
		for _, m := range msgs {
			t.Append(lua.LString(m.ID))
		}
		L.Push(t)
		return 1
	}))
	L.SetGlobal("del_keys", L.NewFunction(func(L *lua.LState) int {
		var names []string
		for i := 1; i <= L.GetTop(); i++ {
			names = append(names, keys.Named(L.CheckString(i)))
		}
		if err := rdb.Del(ctxOf(L), names...).Err(); err != nil {
			L.RaiseError("%v", err)
		}
		return 0
	}))
	L.SetGlobal("xadd_raw", L.NewFunction(func(L *lua.LState) int {
		var values []any
		for i := 2; i <= L.GetTop(); i++ {
			values = append(values, L.CheckString(i))
		}
		id, err := rdb.Do(ctxOf(L), append([]any{"XADD", keys.Named(L.CheckString(1)), "*"}, values...)...).Text()
		if err != nil {
			L.RaiseError("%v", err)
		}
		L.Push(lua.LString(id))
		return 1
	}))
}

// TestImportIntoAFreshPrefix archives a whole stream under one prefix and
// imports it under another (a new server, in effect): the entries keep
// their ids, and rebuild() makes the claims usable there.
func TestImportIntoAFreshPrefix(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		ctx := context.Background()
		archive := filepath.Join(t.TempDir(), "archive", "events.jsonl")
		from, to := newStore(t, streams.Options{}), newStore(t, streams.Options{})
		src, srcOut := newRuntime(t, from, false)
		src.L.SetGlobal("archive", lua.LString(archive))
		require.NoError(t, src.DoString(ctx, `
			a = submit{customer="C", policy="P", amount=700, type="home", incident_date="2026-11-01", description="leak"}
			assign(a.id, "ADJ-007")
			b = submit{customer="C", policy="P", amount=300, type="auto", incident_date="2026-11-01", description="dent"}
			trim{maxlen=0, archive=archive, confirm=true}`, "source"), srcOut.String())
		claimID := src.L.GetField(src.L.GetGlobal("a"), "id").String()
		want, err := os.ReadFile(archive)
		require.NoError(t, err)

		dst, dstOut := newRuntime(t, to, false)
		dst.L.SetGlobal("archive", lua.LString(archive))
		dst.L.SetGlobal("claim_id", lua.LString(claimID))
		require.NoError(t, dst.DoString(ctx, `
			expect(claim(claim_id) == nil, "unknown before the import")
			expect(import(archive) == 3, "three imported")
			local r = rebuild()
			expect(r.claims == 2 and r.events == 3, "rebuilt")
			local c = claim(claim_id)
			expect(c.status == "assigned" and c.adjuster == "ADJ-007" and c.version == 2, "the claim is back")`, "destination"), dstOut.String())
		assert.Zero(t, dst.Failed(), dstOut.String())

		// The destination stream holds exactly what was archived.
		msgs, err := to.Client().XRange(ctx, to.Keys().Events(), "-", "+").Result()
		require.NoError(t, err)
		var archived []claims.ArchiveEntry
		r := claims.NewArchiveReader(strings.NewReader(string(want)))
		for e, err := r.Next(); !errors.Is(err, io.EOF); e, err = r.Next() {
			require.NoError(t, err)
			archived = append(archived, e)
		}
		require.Len(t, msgs, len(archived))
		for i, m := range msgs {
			assert.Equal(t, archived[i].ID, m.ID)
			assert.Equal(t, archived[i].Values(), m.Values)
		}
	})
}
