-- Unregisters a dead worker and fails the job its record names (see recover.rs).
if ARGV[A.check] == '1' then
  if redis.call('SISMEMBER', KEYS[K.workers], ARGV[A.id]) == 0 then return 0 end
  if redis.call('HGET', KEYS[K.heartbeat], ARGV[A.id]) ~= ARGV[A.heartbeat] then return 0 end
end
local result = 1
if ARGV[A.failure] ~= '' and redis.call('EXISTS', KEYS[K.inflight]) == 0 and redis.call('GET', KEYS[K.worker]) == ARGV[A.record] then
  local lists = tonumber(ARGV[A.lists])
  if ARGV[A.failed_queue] ~= '' then redis.call('SADD', KEYS[NK + lists + 1], ARGV[A.failed_queue]) end
  for i = NK + 1, NK + lists do redis.call('RPUSH', KEYS[i], ARGV[A.failure]) end
  redis.call('INCRBY', KEYS[K.failed], 1)
  result = 2
end
redis.call('SREM', KEYS[K.workers], ARGV[A.id])
redis.call('HDEL', KEYS[K.heartbeat], ARGV[A.id])
redis.call('DEL', KEYS[K.worker], KEYS[K.started], KEYS[K.worker_processed], KEYS[K.worker_failed])
return result
