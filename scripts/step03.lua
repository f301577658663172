-- Step 3: load sample data
--
-- What you learn here:
--   * Reference data (customers, policies) lives next to the streams as
--     plain hashes: customer:<id> and policy:<id>. The event stream refers
--     to them by id; the processor (step 5) reads a policy to decide whether
--     a claim is covered.
--   * Loading is idempotent: the same seed writes the same hashes, so
--     running this step twice changes nothing.
--   * Counting keys uses SCAN (keys() here), never KEYS, which blocks the
--     server while it walks every key.

local lab = require("lab")
print("== Step 3: sample data ==")

local loaded = lab.sample_data()
print(("loaded %d customers, %d policies, %d adjusters"):format(#loaded.customers, #loaded.policies, #loaded.adjusters))
print("lapsed policies (their claims will be rejected): " .. table.concat(loaded.lapsed, ", "))
print("(each customer:* and policy:* hash is replaced whole: the same values on the same day)")

-- Verify, as the lab does, by looking at the keys themselves.
local customers, policies = keys("customer:*"), keys("policy:*")
print(("Redis now holds %d customer:* and %d policy:* keys"):format(#customers, #policies))
expect(#customers == 10 and #policies == 20, "10 customers and 20 policies")

-- One policy, as redis-cli HGETALL policy:POL-0001 would show it.
local raw = redis("HGETALL", key("policy:POL-0001"))
print("policy:POL-0001")
for i = 1, #raw, 2 do print(("  %-15s %s"):format(raw[i], raw[i + 1])) end

-- Policies are dated from today: an active one covers today, a lapsed one
-- ended long ago. The processor rejects claims outside a policy's period.
local today = lab.days_ago(0)
local active, lapsed = {}, {}
for _, f in ipairs({"status", "start_date", "end_date"}) do
  active[f] = redis("HGET", key("policy:POL-0001"), f)
  lapsed[f] = redis("HGET", key("policy:POL-0005"), f)
end
print(("today is %s: POL-0001 is %s from %s to %s, POL-0005 is %s since %s"):format(
  today, active.status, active.start_date, active.end_date, lapsed.status, lapsed.end_date))
expect(active.start_date < today and today < active.end_date, "an active policy covers today")
expect(lapsed.status == "lapsed" and lapsed.end_date < today, "a lapsed policy ended before today")

-- Running it again writes the same values: nothing changes.
local again = lab.sample_data()
expect(#keys("policy:*") == 20, "loading twice leaves 20 policies")
expect(table.concat(again.lapsed, ",") == table.concat(loaded.lapsed, ","), "the same policies are lapsed")

print()
print("Now you should see: 10 customers and 20 policies as hashes, every fifth policy")
print("lapsed, and the same data after loading twice.")
if server().redis_cli ~= "" then print("Try: " .. server().redis_cli .. " HGETALL " .. key("policy:POL-0002")) end
