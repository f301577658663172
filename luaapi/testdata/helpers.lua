-- Helpers shared by the Lua test suites: local h = require("helpers").
local h = {}

function h.new_claim(amount)
  return submit{customer = "CUST-0001", policy = "POL-0001", amount = amount or 1000,
                type = "auto", incident_date = "2026-11-20", description = "test"}
end

-- refused calls fn, expects it to fail, and returns its error message.
function h.refused(fn, ...)
  local ok, err = pcall(fn, ...)
  expect(not ok, "call should have been refused")
  return tostring(err)
end

return h
