-- Moves one item of a delayed:<ts> bucket to its queue, if it is still
-- there, and tidies its timestamps: set and the schedule (see at_second.rs).
if redis.call('LREM', KEYS[K.bucket], 1, ARGV[A.item]) == 0 then return 0 end
redis.call('SADD', KEYS[K.queues], ARGV[A.queue_name])
redis.call('RPUSH', KEYS[K.queue], ARGV[A.payload])
redis.call('PUBLISH', ARGV[A.wake_channel], ARGV[A.queue_name])
if not redis.call('LPOS', KEYS[K.bucket], ARGV[A.item]) then
  redis.call('SREM', KEYS[K.timestamps], ARGV[A.bucket_name])
end
if redis.call('EXISTS', KEYS[K.bucket]) == 0 then
  redis.call('ZREM', KEYS[K.schedule], ARGV[A.at])
end
return 1
