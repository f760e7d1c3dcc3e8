-- Promotes the head of one due bucket, checked first: nothing is written
-- unless the master lock is still ours (-1) and the bucket still starts
-- with exactly the items given (-2, the caller reads it again).
-- Per item (after the fixed keys: its timestamps:<item> key then the key
-- it goes to; after the fixed arguments: the item, its queue, its payload):
-- SREM timestamps:<item> delayed:<ts>, then SADD queues <q> + RPUSH
-- queue:<q> <payload>, or, for an item no queue can be read from (queue
-- ''), RPUSH of the item as it is to the aside list. Then the items leave
-- the bucket, and an empty bucket is deleted with its zset member. Each
-- queue is published once on the wake channel. Returns how many moved.
if redis.call('GET', KEYS[K.lock]) ~= ARGV[A.value] then
  return -1
end
local n = tonumber(ARGV[A.count])
if n > 0 then
  local head = redis.call('LRANGE', KEYS[K.bucket], 0, n - 1)
  if #head ~= n then
    return -2
  end
  for i = 1, n do
    if head[i] ~= ARGV[NA + 3 * i - 2] then
      return -2
    end
  end
  local order, pushes = {}, {}
  for i = 1, n do
    redis.call('SREM', KEYS[NK + 2 * i - 1], ARGV[A.member])
    local queue, target = ARGV[NA + 3 * i - 1], KEYS[NK + 2 * i]
    local value = ARGV[NA + 3 * i]
    if queue == '' then
      value = ARGV[NA + 3 * i - 2]
    end
    if not pushes[target] then
      pushes[target] = {queue = queue, values = {}}
      order[#order + 1] = target
    end
    local values = pushes[target].values
    values[#values + 1] = value
  end
  for _, target in ipairs(order) do
    local push = pushes[target]
    local values = push.values
    for from = 1, #values, 1000 do
      redis.call('RPUSH', target, unpack(values, from, math.min(from + 999, #values)))
    end
    if push.queue ~= '' then
      redis.call('SADD', KEYS[K.queues], push.queue)
      redis.call('PUBLISH', ARGV[A.channel], push.queue)
    end
  end
  redis.call('LTRIM', KEYS[K.bucket], n, -1)
end
if redis.call('LLEN', KEYS[K.bucket]) == 0 then
  redis.call('DEL', KEYS[K.bucket])
  redis.call('ZREM', KEYS[K.schedule], ARGV[A.ts])
end
return n
