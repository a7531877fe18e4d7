-- presence_refresh: count connections as present for another TTL.
--
-- Members carry their own expiry (the zset score), so a process that dies stops being counted
-- within one TTL without anybody cleaning up after it.
--
-- KEYS[i] presence zset of a room (one per connection refreshed)
-- ARGV[1] TTL ms                 ARGV[i + 1] the connection counted in KEYS[i]
-- Returns how many were refreshed.
--#include lib/clock.lua

local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, ARGV[i + 1])
  if redis.call('PTTL', key) < ttl * 2 then redis.call('PEXPIRE', key, ttl * 2) end
end
return #KEYS
