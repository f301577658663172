package luaapi

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sandboxed opens a Runtime confined to a fresh exercise folder (with a
// lib/ and a module in it) and a fresh temp folder.
func sandboxed(t *testing.T) (rt *Runtime, dir, temp string, out *bytes.Buffer) {
	t.Helper()
	dir, temp = t.TempDir(), t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "lib"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib", "helper.lua"), []byte(`return {answer = 42}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sibling.lua"), []byte(`sibling_loaded = true`), 0o644))
	out = &bytes.Buffer{}
	rt = New(Config{Store: streamstest.Embedded(t)(t, streams.Options{}), Out: out,
		Sandbox: &Sandbox{Dir: dir, TempDir: temp}})
	t.Cleanup(rt.Close)
	return rt, dir, temp, out
}

func TestSandboxRefusesEscapes(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "secret.lua")
	require.NoError(t, os.WriteFile(secret, []byte(`leaked = true`), 0o644))
	outside := filepath.Join(t.TempDir(), "x")
	cases := map[string]struct{ code, want string }{
		"os.execute":         {`os.execute("touch ` + outside + `")`, "os.execute is not available"},
		"os.setenv":          {`os.setenv("X", "1")`, "os.setenv is not available"},
		"dofile outside":     {`dofile("` + secret + `")`, "is outside the sandbox: Lua loads only from"},
		"loadfile outside":   {`loadfile("/etc/passwd")`, "is outside the sandbox: Lua loads only from"},
		"dofile upwards":     {`dofile("../../../../etc/passwd")`, "is outside the sandbox: Lua loads only from"},
		"require via path":   {`package.path = "` + filepath.Dir(secret) + `/?.lua"; require("secret")`, "module secret not found: no file secret.lua in"},
		"require upwards":    {`require("..")`, `no module may be called ".."`},
		"report outside":     {`report{out = "` + outside + `"}`, "is outside the sandbox: files are written only in its temp folder"},
		"trim archive":       {`submit{customer="C", policy="P", amount=5, type="auto", incident_date="2026-01-01", description="d"}; trim{maxlen=0, archive="` + outside + `", confirm=true}`, "is outside the sandbox: files are written only in its temp folder"},
		"import outside":     {`import("/etc/passwd")`, "is outside the sandbox"},
		"os.remove outside":  {`os.remove("` + secret + `")`, "is outside the sandbox: files are written only in its temp folder"},
		"os.rename outside":  {`os.rename("a", "` + outside + `")`, "is outside the sandbox: files are written only in its temp folder"},
		"spawn outside":      {`spawn("` + secret + `")`, "is outside the sandbox: Lua loads only from"},
		"redis server cmd":   {`redis("CONFIG", "SET", "dir", "/tmp")`, "redis CONFIG is not available"},
		"redis flushall":     {`redis("FLUSHALL")`, "redis FLUSHALL is not available"},
		"redis another key":  {`redis("DEL", "claims:events")`, "claims:events is not one of the script's own keys"},
		"redis one of many":  {`redis("DEL", key("mine"), "theirs")`, "theirs is not one of the script's own keys"},
		"os.exit is refused": {`os.exit(0)`, "os.exit is not available"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rt, _, _, _ := sandboxed(t)
			err := rt.DoString(context.Background(), c.code, "hostile.lua")
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), "hostile.lua:1:")
			assert.NotContains(t, err.Error(), "\n", "one line")
			_, statErr := os.Stat(outside)
			assert.True(t, os.IsNotExist(statErr), "nothing was written outside")
			assert.FileExists(t, secret, "nothing was removed outside")
		})
	}
}

// TestSandboxRecordsCaughtEscapes: a script that catches the refusal with
// pcall is still caught.
func TestSandboxRecordsCaughtEscapes(t *testing.T) {
	t.Parallel()
	rt, _, _, _ := sandboxed(t)
	require.NoError(t, rt.DoString(context.Background(), `
		local ok = pcall(os.execute, "id")
		assert(not ok)
		pcall(dofile, "/etc/passwd")`, "sly.lua"))
	escapes := rt.Escapes()
	require.Len(t, escapes, 2)
	assert.Regexp(t, `^sly\.lua:2: os\.execute is not available`, escapes[0])
	assert.Regexp(t, `^sly\.lua:4: dofile: /etc/passwd is outside`, escapes[1])
}

// TestSandboxAllowsTheExercisesOwnFiles: what an exercise needs still works
// in the sandbox: its modules and siblings, files in its temp folder, its
// own keys.
func TestSandboxAllowsTheExercisesOwnFiles(t *testing.T) {
	t.Parallel()
	rt, dir, temp, out := sandboxed(t)
	err := rt.DoString(context.Background(), `
		expect(require("helper").answer == 42, "require finds lib/")
		dofile("sibling.lua"); expect(sibling_loaded, "dofile finds the exercise's folder")
		expect(loadfile("`+filepath.Join(dir, "sibling.lua")+`") ~= nil, "loadfile of an absolute path inside")
		expect(os.getenv("REDIS_URL") == nil and os.getenv("HOME") == nil, "no environment")
		report{out = "data/report.json"}
		local c = submit{customer="C", policy="P", amount=5, type="auto", incident_date="2026-01-01", description="d"}
		trim{maxlen = 0, archive = "archive.jsonl", confirm = true}
		expect(import("archive.jsonl", {stream = "restored"}) == 1, "import reads what trim archived")
		local name = os.tmpname()
		expect(os.rename(name, "renamed") == true, "os.rename inside the temp folder")
		expect(os.remove("renamed") == true, "os.remove inside the temp folder")
		redis("SET", key("mine"), "1")
		expect(redis("GET", key("mine")) == "1", "redis() on its own keys")
		expect(redis("PING") == "PONG", "redis PING")`, "fine.lua")
	require.NoError(t, err, out.String())
	assert.Zero(t, rt.Failed(), out.String())
	assert.Empty(t, rt.Escapes())
	assert.FileExists(t, filepath.Join(temp, "data", "report.json"))
	assert.FileExists(t, filepath.Join(temp, "archive.jsonl"))
}

// TestSandboxRefusesSymlinksOut: a link inside the exercise's folder that
// points outside it is outside.
func TestSandboxRefusesSymlinksOut(t *testing.T) {
	t.Parallel()
	rt, dir, _, _ := sandboxed(t)
	secret := filepath.Join(t.TempDir(), "secret.lua")
	require.NoError(t, os.WriteFile(secret, []byte(`return {}`), 0o644))
	require.NoError(t, os.Symlink(secret, filepath.Join(dir, "lib", "linked.lua")))
	err := rt.DoString(context.Background(), `require("linked")`, "link.lua")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is outside the sandbox: Lua loads only from")
}
