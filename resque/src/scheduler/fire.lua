-- Enqueues one run (slot) of a recurring schedule, at most once: nothing
-- is written unless the master lock is ours (-1) and the schedule's
-- delayed:last_enqueued_at is before the slot (0: already enqueued, by this
-- leader or one before it). Then SADD queues, RPUSH queue:<q>, HSET
-- last_enqueued_at <name> <slot as Ruby's Time#to_s>, PUBLISH the queue on
-- the wake channel; returns 1.
if redis.call('GET', KEYS[K.lock]) ~= ARGV[A.value] then
  return -1
end

-- Unix seconds of a Ruby Time#to_s ("2026-12-01 21:21:54 +0000"), nil
-- when it is not one.
local function epoch(text)
  if not text then
    return nil
  end
  local y, mo, d, h, mi, s, sign, oh, om =
    string.match(text, '^(%d+)-(%d+)-(%d+) (%d+):(%d+):(%d+) ([+-])(%d%d)(%d%d)$')
  if not y then
    return nil
  end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo <= 2 then
    y = y - 1
  end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((mo + 9) % 12) + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  local offset = tonumber(oh) * 3600 + tonumber(om) * 60
  if sign == '-' then
    offset = -offset
  end
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s) - offset
end

local last = epoch(redis.call('HGET', KEYS[K.last], ARGV[A.name]))
if last and last >= tonumber(ARGV[A.slot]) then
  return 0
end
redis.call('SADD', KEYS[K.queues], ARGV[A.queue])
redis.call('RPUSH', KEYS[K.queue], ARGV[A.payload])
redis.call('HSET', KEYS[K.last], ARGV[A.name], ARGV[A.slot_text])
redis.call('PUBLISH', ARGV[A.channel], ARGV[A.queue])
return 1
