-- Removes the entry at an index, as Ruby does (see list.rs).
local length = redis.call('LLEN', KEYS[K.failed])
local index = tonumber(ARGV[A.index])
if index >= length then return {0, length} end
redis.call('LSET', KEYS[K.failed], index, ARGV[A.marker])
redis.call('LREM', KEYS[K.failed], 1, ARGV[A.marker])
return {1, length}
