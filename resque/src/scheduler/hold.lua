-- Takes the master lock when it is free, or renews it when it is ours;
-- 1 when ours now, 0 when another scheduler (ours or Ruby's) holds it.
if redis.call('SET', KEYS[K.lock], ARGV[A.value], 'NX', 'PX', ARGV[A.ttl_ms]) then
  return 1
end
if redis.call('GET', KEYS[K.lock]) == ARGV[A.value] then
  redis.call('PEXPIRE', KEYS[K.lock], ARGV[A.ttl_ms])
  return 1
end
return 0
