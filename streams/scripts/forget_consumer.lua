-- Removes a consumer from a group, but only while it holds no pending
-- entries: XGROUP DELCONSUMER drops a consumer's pending entries with it,
-- and those would never be delivered again. Checking and deleting in one
-- script means a read in between cannot slip entries past the check.
-- KEYS[1] the stream; ARGV[1] the group, ARGV[2] the consumer.
-- Returns 1 if it was removed, 0 if it holds pending entries.
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #pending > 0 then
  return 0
end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
