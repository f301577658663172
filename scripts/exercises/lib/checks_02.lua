-- The checks of exercise 02, kept apart from the student's file so
-- the exercise and its reference solution share them. The exercise calls
-- require("checks_02")(status_at).
return function(status_at)
  local c = submit{customer = "CUST-0002", policy = "POL-0002", amount = 4000, type = "auto",
                   incident_date = os.date("!%Y-%m-%d", os.time() - 29 * 86400), description = "hail damage"}
  assign(c.id, "ADJ-002")
  upload(c.id, {type = "photo", file = "roof.jpg"})
  investigate(c.id, {phase = "started"})
  investigate(c.id, {findings = "hail confirmed"})
  approve(c.id, 3500)
  pay(c.id)
  settle(c.id)

  check("matches the store's temporal query at every event", function()
    for _, ev in ipairs(history(c.id)) do
      local want = claim(c.id, {at = ev.occurred_at}).status
      local got = status_at(c.id, ev.occurred_at)
      expect(got == want, ("at %s (after %s): want %s, got %s"):format(ev.occurred_at, ev.type, want, tostring(got)))
    end
  end)

  check("nil before the claim existed", function()
    expect(status_at(c.id, "2000-01-01T00:00:00.000Z") == nil, "no status before the first event")
  end)

  check("the latest status far in the future", function()
    expect(status_at(c.id, "2999-01-01T00:00:00.000Z") == "paid", "the claim ends paid")
  end)
end
