-- The checks of exercise 01, kept apart from the student's file so
-- the exercise and its reference solution share them. The exercise calls
-- require("checks_01")(flag_high_value).
return function(flag_high_value)
  local function claim_of(amount)
    return submit{customer = "CUST-0001", policy = "POL-0001", amount = amount, type = "home",
                  incident_date = os.date("!%Y-%m-%d", os.time() - 30 * 86400), description = "exercise claim"}
  end
  local small, big, huge = claim_of(500), claim_of(12000), claim_of(30000)
  assign(small.id, "ADJ-001")
  for i = 1, 12 do claim_of(100 + i) end -- more than one batch of 10

  local flagged = {}
  check("flags exactly the claims over the limit", function()
    flagged = flag_high_value("high-value", "grader", 10000)
    expect(type(flagged) == "table", "return a table of claim ids")
    local set = {}
    for _, id in ipairs(flagged) do set[id] = true end
    expect(#flagged == 2, ("two claims are over 10000, got %d"):format(#flagged))
    expect(set[big.id] and set[huge.id], "the 12000 and 30000 claims are flagged")
    expect(not set[small.id], "the 500 claim is not flagged")
  end)

  check("acks every event it read", function()
    local g = info().events.groups["high-value"]
    expect(g ~= nil, "the group high-value exists (consume creates it)")
    expect(g and g.pending == 0, ("nothing may stay pending, found %d"):format(g and g.pending or -1))
    expect(g and g.lag == 0, "the group read the whole stream")
  end)

  check("reads each event only once", function()
    local again = flag_high_value("high-value", "grader", 10000)
    expect(#again == 0, "a second call finds no new claims")
    local later = claim_of(50000)
    local next_round = flag_high_value("high-value", "grader", 10000)
    expect(#next_round == 1 and next_round[1] == later.id, "a claim submitted later is flagged next time")
  end)
end
