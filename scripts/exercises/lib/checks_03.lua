-- The checks of exercise 03, kept apart from the student's file so
-- the exercise and its reference solution share them. The exercise calls
-- require("checks_03")(rescue).
return function(rescue)
  for i = 1, 5 do
    submit{customer = "CUST-0003", policy = "POL-0003", amount = 100 * i, type = "health",
           incident_date = os.date("!%Y-%m-%d", os.time() - 28 * 86400), description = "exercise claim " .. i}
  end
  consume("payments", "crashed-worker", {count = 3}) -- and then it died

  check("leaves entries alone while they are not idle long enough", function()
    local took = rescue("payments", "rescuer", 60000)
    expect(took == 0, ("nothing is idle for a minute yet, but %d were taken"):format(took))
    expect(pending("payments").count == 3, "the 3 entries are still pending for crashed-worker")
  end)

  check("takes over and acks the idle entries", function()
    sleep(120)
    local took = rescue("payments", "rescuer", 100)
    expect(took == 3, ("3 entries were idle for 100 ms, took %d"):format(took))
    local p = pending("payments")
    expect(p.count == 0, ("nothing may stay pending, found %d"):format(p.count))
  end)

  check("the rest of the stream is still there for the group", function()
    local rest = consume("payments", "rescuer", {count = 10})
    expect(#rest == 2, ("the 2 unread events are still unread, got %d"):format(#rest))
    ack("payments", rest)
  end)
end
