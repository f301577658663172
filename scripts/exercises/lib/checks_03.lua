-- The checks of exercise 03, kept apart from the student's file so
-- the exercise and its reference solution share them. The exercise calls
-- require("checks_03")(rescue).
return function(rescue)
  for i = 1, 5 do
    submit{customer = "CUST-0003", policy = "POL-0003", amount = 100 * i, type = "health",
           incident_date = os.date("!%Y-%m-%d", os.time() - 28 * 86400), description = "exercise claim " .. i}
  end
  -- Well apart: 1 s of idleness tells a dead consumer from a slow one even
  -- on a busy machine.
  local min_idle = 1000
  consume("payments", "crashed-worker", {count = 3}) -- and then it died
  sleep(min_idle + 200)
  consume("payments", "slow-worker", {count = 2}) -- still at work on these
  local function held_by(consumer) return pending("payments").consumers[consumer] or 0 end

  local took = rescue("payments", "rescuer", min_idle)
  check("takes over exactly the entries idle for min_idle", function()
    expect(took == 3, ("crashed-worker's 3 entries were idle long enough, took %s"):format(tostring(took)))
    expect(held_by("slow-worker") == 2, ("slow-worker's 2 entries are not idle yet: leave them, it still holds %d"):format(held_by("slow-worker")))
  end)

  check("acks the entries it took over", function()
    local p = pending("payments")
    expect(p.count == 2, ("only slow-worker's 2 entries may stay pending, found %d"):format(p.count))
    expect(held_by("rescuer") == 0, ("the rescuer acks what it took, it holds %d"):format(held_by("rescuer")))
  end)

  check("takes the others once they are idle too", function()
    sleep(min_idle + 200)
    local later = rescue("payments", "rescuer", min_idle)
    expect(later == 2, ("slow-worker's 2 entries are idle now, took %s"):format(tostring(later)))
    local p = pending("payments")
    expect(p.count == 0, ("nothing may stay pending, found %d"):format(p.count))
  end)
end
