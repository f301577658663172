-- Helpers shared by the lab's step scripts: require("lab").
-- Each step runs on its own (the embedded server starts empty every run),
-- so a step that needs claims or sample data makes them itself.

local lab = {}

-- The date n days before today (UTC), as incident_date wants it: claims in
-- the lab happened recently, whatever day the lab runs. lab.days_ago(-7)
-- is a week from now.
function lab.days_ago(n)
  return os.date("!%Y-%m-%d", os.time() - n * 86400)
end

-- The sample customers and policies of step 3 (idempotent: same seed, same data).
function lab.sample_data()
  return sample_data{customers = 10, policies = 20, seed = 1}
end

-- Submits n claims spread over the sample policies. Policy n covers claim
-- type n (auto, home, health, life, property, travel, liability, auto ...),
-- every fifth policy is lapsed, so some claims are rejected by the processor.
local types = {"auto", "home", "health", "life", "property", "travel", "liability"}
local stories = {
  auto = "Rear-ended at a traffic light", home = "Water damage from a burst pipe",
  health = "Emergency room visit", life = "Beneficiary claim",
  property = "Storm damaged the warehouse roof", travel = "Lost luggage on a connecting flight",
  liability = "Visitor slipped on a wet floor",
}
function lab.submit_claims(n, first)
  local claims = {}
  first = first or 1
  for i = first, first + n - 1 do
    local p = (i - 1) % 20 + 1
    local t = types[(p - 1) % #types + 1]
    claims[#claims + 1] = submit{
      customer = ("CUST-%04d"):format((p - 1) % 10 + 1),
      policy = ("POL-%04d"):format(p),
      amount = 250 * ((i * 7) % 40 + 1),
      type = t,
      incident_date = lab.days_ago(i % 20 + 1),
      description = stories[t],
    }
  end
  return claims
end

-- Every status in lifecycle order, as the dashboard lists them.
lab.statuses = {"submitted", "assigned", "investigating", "investigated", "approved", "rejected",
                "payment_initiated", "paid"}

-- "submitted 2, assigned 5, investigating 0, ..." for a by_status table
-- (report() or stats()), every status in the dashboard's order.
function lab.status_counts(by_status)
  local parts = {}
  for _, s in ipairs(lab.statuses) do
    parts[#parts + 1] = ("%s %d"):format(s, by_status[s] or 0)
  end
  return table.concat(parts, ", ")
end

-- Prints a group table of claims:events: pending, lag and consumers.
function lab.show_groups()
  local groups = info().events.groups
  local names = {}
  for name in pairs(groups) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local g = groups[name]
    local consumers = {}
    for c, ct in pairs(g.consumers) do consumers[#consumers + 1] = ("%s(%d)"):format(c, ct.pending) end
    table.sort(consumers)
    print(("  %-14s pending %-3d lag %-3d consumers %s"):format(name, g.pending, g.lag, table.concat(consumers, " ")))
  end
end

return lab
