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

-- has reports whether s contains part, as plain text.
function h.has(s, part)
  return s ~= nil and string.find(s, part, 1, true) ~= nil
end

-- lines splits text into its non-empty lines.
function h.lines(text)
  local out = {}
  for line in string.gmatch(text or "", "[^\n]+") do out[#out + 1] = line end
  return out
end

return h
