-- notify: takes one event of a claim, in version order, and appends its
-- notification if it has one. The last version each claim was seen at is
-- kept in one hash (no key per event): a redelivery, or the same event put
-- back from the DLQ under a new entry id, is seen at its version already
-- and alerts nobody twice; the version and the XADD are one atomic step,
-- so a crash between the two can neither lose nor double an alert.
--
-- keys: [1] notifications stream, [2] the per-claim version hash
-- args: [1] claim id, [2] version, [3] the notification's entry time ('':
--       Redis's clock; see xadd), [4..] its field/value pairs (none: the
--       event raises no notification)
-- Reply: {'ok', notification id or ''} | {'skip'|'gap', seen version}
ops.notify = function(k, from, to)
  local claim, v = ARGV[from], tonumber(ARGV[from + 1])
  local seen = tonumber(hget(k[2], claim) or '0')
  if v <= seen then return {'skip', tostring(seen)} end
  if v > seen + 1 then return {'gap', tostring(seen)} end
  local id = ''
  if to >= from + 3 then id = xadd(k[1], ARGV[from + 2], from + 3, to) end
  hset(k[2], claim, v)
  return {'ok', id}
end
