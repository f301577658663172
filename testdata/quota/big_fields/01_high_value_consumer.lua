-- The lab's own primitives with their fields as big as they may be.
local big = string.rep("d", 2000)
for i = 1, 1000000 do
  submit_many{
    {customer = "CUST-0001", policy = "POL-0001", amount = 100, type = "home", incident_date = "2026-11-01", description = big},
    {customer = "CUST-0002", policy = "POL-0002", amount = 200, type = "auto", incident_date = "2026-11-01", description = big},
  }
end
