package luaapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/redistest"
	"claimsctl/streams/streamstest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chaosSubmit files claim i on the sample data, in Lua.
const chaosSubmit = `local function file(i)
  return submit{customer = "CUST-0001", policy = ("POL-%04d"):format(i % 20 + 1), amount = 100 * i, type = "auto",
                incident_date = os.date("!%Y-%m-%d", os.time() - 86400), description = "chaos " .. i}
end
sample_data()
`

// TestChaosKillAbandonsTheBatchInHand: a killed in-session worker
// acknowledges nothing of the batch it holds (a stop would have finished
// it): its entries stay in its PEL and no claim is decided.
func TestChaosKillAbandonsTheBatchInHand(t *testing.T) {
	t.Parallel()
	rt, out := newRuntime(t, streamstest.Embedded(t)(t, streams.Options{}), false)
	v, err := rt.Eval(context.Background(), chaosSubmit+`
local ids = {}
for i = 1, 3 do ids[i] = file(i).id end
local c = chaos.slow("processor", 60000, {log = false})
while (pending("processors").consumers[c] or 0) < 3 do sleep(10) end
local k = chaos.kill(c)
local still = pending("processors").consumers[c]
for _, w in ipairs(workers()) do if w.consumer == c and w.running then error("still running") end end
local decided = 0
for _, id in ipairs(ids) do if claim(id).version > 1 then decided = decided + 1 end end
return k.killed .. " " .. k.pending .. " " .. still .. " " .. decided`)
	require.NoError(t, err, out.String())
	assert.Equal(t, "goroutine 3 3 0", v)
	assert.Contains(t, out.String(), "nothing acknowledged (no XACK); 3 entries stay in its PEL")
}

// TestChaosCrashOnSendsThePoisonToTheDLQ: a consumer that crashes on one
// claim, started again each time, takes the dead one's entry over after
// min_idle until max_deliveries sends it to the DLQ; the others are decided.
func TestChaosCrashOnSendsThePoisonToTheDLQ(t *testing.T) {
	t.Parallel()
	rt, out := newRuntime(t, streamstest.Embedded(t)(t, streams.Options{}), false)
	v, err := rt.Eval(context.Background(), chaosSubmit+`
chaos.crash_on("processor", function(e) return e.type == "claim.submitted" and e.data.amount == 300 end,
  {restarts = 10, min_idle = 50, recover_every = 20, max_deliveries = 3, log = false})
local ids = {}
for i = 1, 5 do ids[i] = file(i).id end
local letters
for _ = 1, 1000 do
  letters = dlq()
  if #letters > 0 then break end
  sleep(10)
end
for i, id in ipairs(ids) do
  if i ~= 3 then while claim(id).version < 2 do sleep(10) end end
end
return #letters .. " " .. tostring(letters[1].claim_id == ids[3]) .. " " .. letters[1].group .. " " .. claim(ids[3]).version`)
	require.NoError(t, err, out.String())
	assert.Equal(t, "1 true processors 1", v)
	assert.Contains(t, out.String(), "dies as kill -9 would")
}

// TestChaosCrashOnRefusesAClosure: the predicate runs on another Lua
// state, where a script's locals do not exist.
func TestChaosCrashOnRefusesAClosure(t *testing.T) {
	t.Parallel()
	rt, _ := newRuntime(t, streamstest.Embedded(t)(t, streams.Options{}), false)
	_, err := rt.Eval(context.Background(), `local limit = 5; chaos.crash_on("processor", function(e) return e.data.amount > limit end)`)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not local variables of your script")
	_, err = rt.Eval(context.Background(), `chaos.slow("processer", 10)`)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no built-in worker "processer"`)
}

// TestChaosOnTheEmbeddedServer: what it cannot do is refused, naming why.
func TestChaosOnTheEmbeddedServer(t *testing.T) {
	t.Parallel()
	rt, _ := newRuntime(t, streamstest.Embedded(t)(t, streams.Options{}), false)
	for code, why := range map[string]string{
		`chaos.pause(100)`:          "the embedded server (miniredis) has no such command",
		`chaos.drop_clients()`:      "the embedded server (miniredis) has no such command",
		`chaos.restart_server()`:    "it cannot restart and keep the events",
		`chaos.failover()`:          "one server has no replica to take over",
		`chaos.kill("processor")`:   `no running worker "processor"`,
		`chaos.pause(0)`:            "ms must be a whole number of milliseconds",
		`chaos.failover("replica")`: `want a partition number or "master"`,
	} {
		_, err := rt.Eval(context.Background(), code)
		require.Error(t, err, code)
		assert.Contains(t, err.Error(), why, code)
	}
	v, err := rt.Eval(context.Background(), `local ok, why = chaos.can("restart_server"); return tostring(ok) .. ": " .. why`)
	require.NoError(t, err)
	assert.Contains(t, v, "false: the embedded server")
}

// realSession is a session on a redis-server of the test's own, and a
// client of the test's beside it.
func realSession(t *testing.T) (*Runtime, *strings.Builder, *redis.Client, *redistest.Server) {
	srv := redistest.Start(t)
	backend, err := redisconn.Connect(context.Background(), redisconn.ConnectOptions{URL: srv.URL()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = backend.Close() })
	store, err := streams.Open(context.Background(), backend.Client, streams.Options{})
	require.NoError(t, err)
	var out strings.Builder
	rt := New(Config{Store: store, Out: &out})
	t.Cleanup(rt.Close)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rt, &out, rdb, srv
}

// TestChaosPauseIsFelt: a command another client issues during the pause
// is answered only once the pause is over, by the server's clock.
func TestChaosPauseIsFelt(t *testing.T) {
	t.Parallel()
	rt, out, rdb, _ := realSession(t)
	ctx := context.Background()
	before, err := rdb.Time(ctx).Result()
	require.NoError(t, err)
	_, err = rt.Eval(ctx, `chaos.pause(500)`)
	require.NoError(t, err)
	after, err := rdb.Time(ctx).Result() // waits the pause out
	require.NoError(t, err)
	assert.GreaterOrEqual(t, after.Sub(before), 500*time.Millisecond)
	assert.Contains(t, out.String(), "CLIENT PAUSE 500 ALL on 127.0.0.1:")
}

// TestChaosDropClientsClosesTheirConnections: CLIENT LIST lists the
// victim's connection before, not after, and the victim's next command
// finds its connection gone.
func TestChaosDropClientsClosesTheirConnections(t *testing.T) {
	t.Parallel()
	rt, out, rdb, srv := realSession(t)
	ctx := context.Background()
	victim := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, PoolSize: 1})
	t.Cleanup(func() { _ = victim.Close() })
	require.NoError(t, victim.Do(ctx, "CLIENT", "SETNAME", "victim").Err())
	id, err := victim.ClientID(ctx).Result()
	require.NoError(t, err)
	list, err := rdb.ClientList(ctx).Result()
	require.NoError(t, err)
	require.Contains(t, list, "name=victim")

	v, err := rt.Eval(ctx, `return chaos.drop_clients().closed`)
	require.NoError(t, err, out.String())
	assert.NotEqual(t, "0", v)
	list, err = redis.NewClient(&redis.Options{Addr: srv.Addr()}).ClientList(ctx).Result()
	require.NoError(t, err)
	assert.NotContains(t, list, "name=victim")
	again, err := victim.ClientID(ctx).Result()
	require.NoError(t, err, "the victim reconnects")
	assert.NotEqual(t, id, again, "on a new connection: its own was closed under it")
	assert.Contains(t, out.String(), "CLIENT KILL TYPE normal SKIPME yes")
}

// TestChaosRestartServerRefusesAServerNobodyRestarts: a redis-server not
// run by claimsctl serve --aof is left alone.
func TestChaosRestartServerRefusesAServerNobodyRestarts(t *testing.T) {
	t.Parallel()
	rt, _, rdb, _ := realSession(t)
	ctx := context.Background()
	_, err := rt.Eval(ctx, `chaos.restart_server()`)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "was not started by `claimsctl serve --aof`")
	require.NoError(t, rdb.Ping(ctx).Err(), "still running")
}

// TestChaosFailoverOnACluster: CLUSTER FAILOVER on partition 0's replica,
// which CLUSTER NODES then lists as master of its slots, on the package's
// cluster (a planned failover loses nothing and leaves every slot served).
func TestChaosFailoverOnACluster(t *testing.T) {
	t.Parallel()
	cl := cluster.Get(t)
	backend, err := redisconn.Connect(context.Background(), redisconn.ConnectOptions{Cluster: strings.Join(cl.Seeds(), ",")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = backend.Close() })
	store, err := streams.Open(context.Background(), backend.Client, streams.Options{Prefix: "chaos-failover:"})
	require.NoError(t, err)
	rt, out := newRuntime(t, store, false)
	v, err := rt.Eval(context.Background(), `local f = chaos.failover(); return f.old_master .. " " .. f.new_master`)
	require.NoError(t, err, out.String())
	oldMaster, newMaster, _ := strings.Cut(v, " ")
	require.NotEqual(t, oldMaster, newMaster)
	nodes, err := redis.NewClient(&redis.Options{Addr: newMaster}).ClusterNodes(context.Background()).Result()
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^\S+ `+strings.ReplaceAll(newMaster, ".", `\.`)+`@\d+ myself,master `, nodes)
	assert.Contains(t, out.String(), "CLUSTER FAILOVER on replica "+newMaster)
}
