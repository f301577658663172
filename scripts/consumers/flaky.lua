-- A consumer with a bug, for step 9: it fails on every claim whose
-- description mentions "poison" until the bug is "fixed" (the key
-- demo:fixed is set). Its failures are redelivered, then dead-lettered.

group = "flaky"

function handle(ev)
  if ev.type == "claim.submitted" and ev.data.description:find("poison", 1, true)
     and redis("GET", key("demo:fixed")) ~= "1" then
    error("cannot parse the description of claim " .. ev.claim_id:sub(1, 8))
  end
  return "ok"
end
