-- project: applies one event to a claim's read model (claim:<id>) if and
-- only if it is the next one: the version check and the writes are one
-- atomic step, so a redelivered event is skipped and two consumers of one
-- group cannot apply a claim's events out of order. The adjuster workload
-- moves in the same step, hence exactly once per assignment.
--
-- keys: [1] read model hash, [2] adjuster load sorted set
-- args: [1] version, [2] statuses the event may follow ("|a|b|"; "" is a
--       new claim), [3] op (assign | final | document | ""), [4] adjuster,
--       [5..] field/value pairs
-- Reply: {'ok'|'skip'|'gap', stored version} | {'invalid', stored status}
ops.project = function(k, from, to)
  local status, detail = project_event(k[1], k[2], ARGV[from], ARGV[from + 1], ARGV[from + 2], ARGV[from + 3], from + 4, to)
  return {status, detail}
end
