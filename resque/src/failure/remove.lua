-- Removes the entry at an index, as Ruby does (LSET to a marker, then
-- LREM of the marker), after checking that the index exists.
--
-- KEYS: failed list
-- ARGV: index, marker
-- Returns {1 if removed else 0, length before}.
local length = redis.call('LLEN', KEYS[1])
local index = tonumber(ARGV[1])
if index >= length then return {0, length} end
redis.call('LSET', KEYS[1], index, ARGV[2])
redis.call('LREM', KEYS[1], 1, ARGV[2])
return {1, length}
