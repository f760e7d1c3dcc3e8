-- Marks a failure entry retried and pushes its payload, in one step (see list.rs).
local index = tonumber(ARGV[A.index])
if redis.call('LINDEX', KEYS[K.failed], index) ~= ARGV[A.entry] then
  local ok, found = pcall(redis.call, 'LPOS', KEYS[K.failed], ARGV[A.entry])
  if not ok or not found then return -1 end
  index = found
end
redis.call('LSET', KEYS[K.failed], index, ARGV[A.retried])
redis.call('SADD', KEYS[K.queues], ARGV[A.queue_name])
redis.call('RPUSH', KEYS[K.queue], ARGV[A.payload])
redis.call('PUBLISH', ARGV[A.wake_channel], ARGV[A.queue_name])
return index
