-- Cancels one waiting retry (see pending.rs): removes one copy of its
-- delayed item if it is still in its bucket, tidies the item's timestamps:
-- set and the schedule, puts the kept failure (or, when it expired, the
-- cancellation entry) at the end of `failed`, and deletes the attempt
-- counter and the failure key. Returns 0 when the item was gone (queued or
-- cancelled meanwhile: nothing done), 1 when the kept failure moved to
-- `failed`, 2 when the cancellation entry was written instead.
if redis.call('LREM', KEYS[K.bucket], 1, ARGV[A.item]) == 0 then return 0 end
if not redis.call('LPOS', KEYS[K.bucket], ARGV[A.item]) then
  redis.call('SREM', KEYS[K.timestamps], ARGV[A.bucket_name])
end
if redis.call('EXISTS', KEYS[K.bucket]) == 0 then
  redis.call('ZREM', KEYS[K.schedule], ARGV[A.at])
end
local kept = redis.call('GET', KEYS[K.failure])
local outcome = 1
if not kept then
  kept = ARGV[A.cancelled]
  outcome = 2
end
redis.call('RPUSH', KEYS[K.failed], kept)
redis.call('DEL', KEYS[K.counter], KEYS[K.failure])
return outcome
