-- append: a command's append (append.lua) as an operation, so that a bulk
-- submission appends a chunk of claims in one call.
--
-- keys: [1] events stream, [2] the claim's aggregate, [3] the partition's
--       event-id index (touched only for caller-chosen event ids)
-- args: [1] claim id, [2] expected version, [3] event_id, [4] "1" to
--       record the event_id in the index, [5] the entry's time ('':
--       Redis's clock), [6] n, [7..6+n] the claim's state after the event,
--       [7+n..] the event's field/value pairs
-- Reply: {'ok', entry id} | {'duplicate', entry id} | {'conflict', version}
ops.append = function(k, from, to)
  local n = tonumber(ARGV[from + 5])
  local index = ''
  if ARGV[from + 3] == '1' then index = k[3] end
  local status, detail = append_event(k[1], k[2], index, ARGV[from], ARGV[from + 1], ARGV[from + 2],
    ARGV[from + 4], from + 6, from + 5 + n, from + 6 + n, to)
  return {status, detail}
end
