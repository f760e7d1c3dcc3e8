-- Puts one in-flight job back, fails it, or drops it (see recover.rs).
if ARGV[A.mode] ~= 'own' and (redis.call('SISMEMBER', KEYS[K.workers], ARGV[A.owner]) == 1 or redis.call('EXISTS', KEYS[K.worker]) == 1) then
  return 4
end
if redis.call('LREM', KEYS[K.inflight], 1, ARGV[A.entry]) == 0 then return 0 end
if ARGV[A.mode] == 'failed' then
  if redis.call('EXISTS', KEYS[K.recoveries]) == 1 then redis.call('HDEL', KEYS[K.recoveries], redis.sha1hex(ARGV[A.payload])) end
  return 3
end
if tonumber(ARGV[A.max_recoveries]) > 0 then
  local field = redis.sha1hex(ARGV[A.payload])
  local n = redis.call('HINCRBY', KEYS[K.recoveries], field, 1)
  if n >= tonumber(ARGV[A.max_recoveries]) then
    redis.call('HDEL', KEYS[K.recoveries], field)
    local lists = tonumber(ARGV[A.lists])
    if ARGV[A.failed_queue] ~= '' then redis.call('SADD', KEYS[NK + lists + 1], ARGV[A.failed_queue]) end
    for i = NK + 1, NK + lists do redis.call('RPUSH', KEYS[i], ARGV[A.failure]) end
    redis.call('INCRBY', KEYS[K.failed], 1)
    return 2
  end
end
redis.call('SADD', KEYS[K.queues], ARGV[A.queue_name])
redis.call('LPUSH', KEYS[K.queue], ARGV[A.payload])
redis.call('PUBLISH', ARGV[A.wake_channel], ARGV[A.queue_name])
return 1
