-- The checks of exercise 02, kept apart from the student's file so
-- the exercise and its reference solution share them. The exercise calls
-- require("checks_02")(status_at).
return function(status_at)
  -- A few ms between the events: each gets an occurred_at of its own
  -- (times have ms precision), so the status at each is one answer.
  local c = submit{customer = "CUST-0002", policy = "POL-0002", amount = 4000, type = "auto",
                   incident_date = os.date("!%Y-%m-%d", os.time() - 29 * 86400), description = "hail damage"}
  for _, step in ipairs{
    function() assign(c.id, "ADJ-002") end,
    function() upload(c.id, {type = "photo", file = "roof.jpg"}) end,
    function() investigate(c.id, {phase = "started"}) end,
    function() investigate(c.id, {findings = "hail confirmed"}) end,
    function() approve(c.id, 3500) end,
    function() pay(c.id) end,
    function() settle(c.id) end,
  } do
    sleep(3)
    step()
  end

  check("matches the store's temporal query at every event", function()
    for i, ev in ipairs(history(c.id)) do
      local want = claim(c.id, {at = ev.occurred_at}).status
      local got = status_at(c.id, ev.occurred_at)
      expect(got == want, ("at event %d (%s): want %s, got %s"):format(i, ev.type, want, tostring(got)))
    end
  end)

  check("nil before the claim existed, a status from its first event on", function()
    expect(status_at(c.id, "2000-01-01T00:00:00.000Z") == nil, "no status before the first event")
    local first = history(c.id)[1]
    expect(status_at(c.id, first.occurred_at) ~= nil, "a status from the time of the first event (claim.submitted) on")
  end)

  check("the latest status far in the future", function()
    local got = status_at(c.id, "2999-01-01T00:00:00.000Z")
    expect(got == "paid", ("the claim ends paid, got %s"):format(tostring(got)))
  end)
end
