-- presence_count: how many connections each room has now (expired members are dropped first).
--
-- KEYS[i] presence zset of a room
-- Returns the counts, in KEYS order.
--#include lib/clock.lua

local counts = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  counts[i] = redis.call('ZCARD', key)
end
return counts
