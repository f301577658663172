-- audit: appends one line to a claim's trail, in version order: the last
-- line's version says whether this event is recorded already (a
-- redelivery, or the same event put back from the DLQ under a new entry
-- id), so nothing but the trail itself is kept.
--
-- keys: [1] the claim's trail stream
-- args: [1] version, [2..] the line's field/value pairs
-- Reply: {'ok', trail entry id} | {'skip'|'gap', recorded version}
ops.audit = function(k, from, to)
  local v, last = tonumber(ARGV[from]), 0
  local top = redis.call('XREVRANGE', k[1], '+', '-', 'COUNT', 1)
  if #top == 1 then
    local f = top[1][2]
    for i = 1, #f, 2 do
      if f[i] == 'version' then last = tonumber(f[i + 1]) or 0 end
    end
  end
  if v <= last then return {'skip', tostring(last)} end
  if v > last + 1 then return {'gap', tostring(last)} end
  return {'ok', redis.call('XADD', k[1], '*', unpack(ARGV, from + 1, to))}
end
