-- A worker started by the file does the writing, while the file waits.
spawn("consumers/hog.lua")
for i = 1, 20 do
  submit{customer = "CUST-0001", policy = "POL-0001", amount = 100, type = "home", incident_date = "2026-11-01", description = "d"}
end
while true do sleep(100) end
