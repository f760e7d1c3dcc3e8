-- Promotes the head of one due bucket, checked first: nothing is written
-- unless the master lock is still ours (-1) and the bucket still starts
-- with exactly the items given (-2, the caller reads it again).
-- After the fixed keys: each distinct queue:<q> of the batch (`queues` of
-- them), then each item's timestamps:<item>, which names the item. After
-- the fixed arguments: each distinct queue's name, then per item the index
-- of its queue (0: no queue could be read from it) and its payload.
-- Per item: SREM timestamps:<item> delayed:<ts>, then RPUSH of its payload
-- to its queue, or, for an item without a queue, RPUSH of the item as it
-- is to the aside list. Each queue gets SADD queues and one PUBLISH on the
-- wake channel. Then the items leave the bucket, and an empty bucket is
-- deleted with its zset member. Returns how many moved.
if redis.call('GET', KEYS[K.lock]) ~= ARGV[A.value] then
  return -1
end
local n, m = tonumber(ARGV[A.count]), tonumber(ARGV[A.queues])
if n > 0 then
  local head = redis.call('LRANGE', KEYS[K.bucket], 0, n - 1)
  if #head ~= n then
    return -2
  end
  local prefix = ARGV[A.prefix]
  for i = 1, n do
    if KEYS[NK + m + i] ~= prefix .. head[i] then
      return -2
    end
  end
  local pushes = {}
  for i = 1, n do
    redis.call('SREM', KEYS[NK + m + i], ARGV[A.member])
    local q = tonumber(ARGV[NA + m + 2 * i - 1])
    local values = pushes[q]
    if not values then
      values = {}
      pushes[q] = values
    end
    if q == 0 then
      values[#values + 1] = head[i]
    else
      values[#values + 1] = ARGV[NA + m + 2 * i]
    end
  end
  for q = 0, m do
    local values = pushes[q]
    if values then
      local target = KEYS[K.aside]
      if q > 0 then
        target = KEYS[NK + q]
      end
      for from = 1, #values, 1000 do
        redis.call('RPUSH', target, unpack(values, from, math.min(from + 999, #values)))
      end
      if q > 0 then
        redis.call('SADD', KEYS[K.queues], ARGV[NA + q])
        redis.call('PUBLISH', ARGV[A.channel], ARGV[NA + q])
      end
    end
  end
  redis.call('LTRIM', KEYS[K.bucket], n, -1)
end
if redis.call('LLEN', KEYS[K.bucket]) == 0 then
  redis.call('DEL', KEYS[K.bucket])
  redis.call('ZREM', KEYS[K.schedule], ARGV[A.ts])
end
return n
