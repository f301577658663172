-- A consumer that stores 100 MB per event it handles.
group = "hog"
local chunk = string.rep("y", 1024 * 1024)
function handle(ev)
  for i = 1, 100 do redis("APPEND", key("hog:" .. ev.id), chunk) end
  return "ok"
end
