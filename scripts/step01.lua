-- Step 1: environment set-up
--
-- What you learn here:
--   * Which Redis this tool talks to, and whether its data survives a
--     restart. The lab runs Redis in docker with --appendonly yes (AOF):
--     every write is logged to disk and replayed when Redis starts again.
--     That is what makes a stream a durable event store.
--   * claimsctl finds Redis like the lab's scripts do: REDIS_URL, or
--     REDIS_HOST / REDIS_PORT / REDIS_PASSWORD, else localhost:6379, else
--     an embedded in-memory server (fine for learning; gone on exit).
--
-- Try next, in another terminal:
--     claimsctl serve                       # an embedded Redis on localhost:6379
--     redis-server --appendonly yes         # or a real one, with AOF, if installed
-- and run this step again: it finds them on its own.

print("== Step 1: environment ==")
local s = server()
print("connected to:  " .. s.backend)
print("server:        " .. s.version .. " (" .. s.mode .. ")")
print("persistence:   " .. s.persistence)
if not s.aof then
  print()
  print("Note: without AOF a restart loses events. The lab starts Redis with")
  if s.config_refused then
    print("      redis-server --appendonly yes; this server's CONFIG is not yours to")
    print("      change: whoever runs it can turn AOF on (CONFIG SET appendonly yes).")
  elseif s.redis_cli ~= "" and not s.version:find("^embedded") then
    print("      redis-server --appendonly yes; with real Redis you can also run")
    print("      " .. s.redis_cli .. " CONFIG SET appendonly yes")
  else
    print("      redis-server --appendonly yes (a real Redis; the embedded one keeps nothing).")
  end
end

-- A round trip proves the connection works: read the event stream's state.
local events = info().events
print(("claims:events: %s, %d %s"):format(events.exists and "exists" or "not created yet", events.length,
  events.length == 1 and "entry" or "entries"))
expect(s.version ~= "", "the server answered")

print()
print("Now you should see: which server you are connected to and whether it keeps")
print("events across a restart. Everything else in the lab runs against it.")
