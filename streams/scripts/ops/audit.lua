-- audit: appends one line to a claim's trail, in version order: the
-- trail holds versions 1..n, one line each, so its length says whether
-- this event is recorded already (a redelivery, or the same event put back
-- from the DLQ under a new entry id), and nothing but the trail is kept.
--
-- keys: [1] the claim's trail (a list)
-- args: [1] version, [2] the line
-- Reply: {'ok', version} | {'skip'|'gap', recorded version}
ops.audit = function(k, from, to)
  local v, last = tonumber(ARGV[from]), redis.call('LLEN', k[1])
  if v <= last then return {'skip', tostring(last)} end
  if v > last + 1 then return {'gap', tostring(last)} end
  redis.call('RPUSH', k[1], ARGV[from + 1])
  return {'ok', ARGV[from]}
end
