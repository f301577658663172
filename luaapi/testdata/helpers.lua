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

-- same_as_claim expects a command's result r to hold every field claim()
-- returns for its claim, with the same value.
function h.same_as_claim(r, what)
  local want = claim(r.id)
  for k, v in pairs(want) do
    if type(v) == "table" then
      local got = type(r[k]) == "table" and r[k] or {}
      expect(#got == #v, ("%s: %s has %d items, claim() %d"):format(what, k, #got, #v))
      for i = 1, #v do
        expect(got[i] == v[i], ("%s: %s[%d] is %s, claim() says %s"):format(what, k, i, tostring(got[i]), tostring(v[i])))
      end
    else
      expect(r[k] == v, ("%s: %s is %s, claim() says %s"):format(what, k, tostring(r[k]), tostring(v)))
    end
  end
end

return h
