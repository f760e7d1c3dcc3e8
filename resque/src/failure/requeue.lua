-- Marks a failure entry retried and pushes its payload, in one step.
--
-- KEYS: failed list, queues, queue:<q>
-- ARGV: index hint, entry as read, entry with retried_at, payload, queue
--       name, wake channel
-- Returns the index the entry was found at, or -1 when it is gone.
local index = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], index) ~= ARGV[2] then
  local ok, found = pcall(redis.call, 'LPOS', KEYS[1], ARGV[2])
  if not ok or not found then return -1 end
  index = found
end
redis.call('LSET', KEYS[1], index, ARGV[3])
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('RPUSH', KEYS[3], ARGV[4])
redis.call('PUBLISH', ARGV[6], ARGV[5])
return index
