-- The worker's step (see step.rs for the layout and docs/PROTOCOL.md).
-- 1. Finish the job that ran, once: its in-flight entry removed first.
local finished = 0
local lists = tonumber(ARGV[A.lists])
local retry_at = NK + lists
if ARGV[A.failed_queue] ~= '' then retry_at = retry_at + 1 end
local mode = ARGV[A.retry]
local retry_keys = ({[''] = 0, clear = 2, now = 4, later = 5})[mode]
if ARGV[A.entry] ~= '' and redis.call('LREM', KEYS[K.inflight], 1, ARGV[A.entry]) == 1 then
  finished = 1
  if ARGV[A.failure] ~= '' then
    if ARGV[A.failed_queue] ~= '' then redis.call('SADD', KEYS[NK + lists + 1], ARGV[A.failed_queue]) end
    for i = NK + 1, NK + lists do
      redis.call('RPUSH', KEYS[i], ARGV[A.failure])
      if ARGV[A.failed_max] ~= '' then redis.call('LTRIM', KEYS[i], -tonumber(ARGV[A.failed_max]), -1) end
    end
  end
  if ARGV[A.failure] ~= '' or mode == 'now' or mode == 'later' then
    redis.call('INCRBY', KEYS[K.failed], 1)
    redis.call('INCRBY', KEYS[K.worker_failed], 1)
  end
  redis.call('INCRBY', KEYS[K.processed], 1)
  redis.call('INCRBY', KEYS[K.worker_processed], 1)
  if redis.call('EXISTS', KEYS[K.recoveries]) == 1 then
    redis.call('HDEL', KEYS[K.recoveries], ARGV[A.payload_sha1])
  end
  -- The retry part (retry/finish.rs): counter, kept failure, then where the retry goes.
  if mode == 'clear' then
    redis.call('DEL', KEYS[retry_at + 1], KEYS[retry_at + 2])
  elseif mode ~= '' then
    redis.call('EXPIRE', KEYS[retry_at + 1], ARGV[A.retry_ttl])
    if mode == 'now' then
      redis.call('RPUSH', KEYS[retry_at + 3], ARGV[A.payload])
      redis.call('SADD', KEYS[retry_at + 4], ARGV[A.retry_member])
    else
      redis.call('RPUSH', KEYS[retry_at + 3], ARGV[A.retry_item])
      redis.call('SADD', KEYS[retry_at + 4], ARGV[A.retry_member])
      redis.call('ZADD', KEYS[retry_at + 5], ARGV[A.retry_due], ARGV[A.retry_due])
    end
    if ARGV[A.kept] ~= '' then
      redis.call('SET', KEYS[retry_at + 2], ARGV[A.kept], 'EX', ARGV[A.kept_ttl])
    end
    redis.call('INCRBY', KEYS[K.retried], 1)
    redis.call('PUBLISH', ARGV[A.retry_wake], ARGV[A.retry_wake_message])
  end
end
-- 2. The record of the job that starts now, or none after a finish.
if ARGV[A.record] ~= '' then
  redis.call('SET', KEYS[K.worker], ARGV[A.record])
elseif ARGV[A.entry] ~= '' then
  redis.call('DEL', KEYS[K.worker])
end
-- 3. Take up to ARGV[A.take] jobs from the first non-empty queue, unless paused.
local take = tonumber(ARGV[A.take])
if take == 0 then return {finished} end
local paused = redis.call('GET', KEYS[K.pause_all])
if paused and string.lower(string.match(paused, '^[%z\t\n\v\f\r ]*(.-)[%z\t\n\v\f\r ]*$')) == 'true' then
  return {finished, 0}
end
local first = retry_at + retry_keys + 1
local queues = #KEYS - first + 1
for i = first, #KEYS do
  local payload = redis.call('LPOP', KEYS[i])
  if payload then
    local queue = ARGV[NA + 1 + i - first]
    local label = ARGV[NA + 1 + queues + i - first]
    if label == '' then label = queue end
    local reply = {finished, i - first + 1}
    local n = 0
    while payload do
      local entry = cjson.encode({queue = queue, payload = payload})
      redis.call('RPUSH', KEYS[K.inflight], entry)
      if n == 0 and ARGV[A.run_at] ~= '' and pcall(cjson.decode, payload) then
        redis.call('SET', KEYS[K.worker], '{"queue":' .. cjson.encode(label) .. ',"run_at":"' .. ARGV[A.run_at] .. '","payload":' .. payload .. '}')
      end
      -- A large payload is in the reply once, inside its entry (the worker reads it from there).
      if #payload >= 65536 then reply[#reply + 1] = '' else reply[#reply + 1] = payload end
      reply[#reply + 1] = entry
      n = n + 1
      if n >= take then break end
      payload = redis.call('LPOP', KEYS[i])
    end
    return reply
  end
end
return {finished}
