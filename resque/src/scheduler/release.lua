-- Deletes the master lock only when it is ours; 1 when deleted.
if redis.call('GET', KEYS[K.lock]) == ARGV[A.value] then
  return redis.call('DEL', KEYS[K.lock])
end
return 0
