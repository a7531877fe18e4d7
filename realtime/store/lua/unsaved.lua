-- unsaved: matches whose published score the database has not held for longer than the save
-- interval (their save was not due yet when the stream stopped, or its worker died), claimed for
-- another interval so two sweeps do not save the same one.
--
-- KEYS[1] unsaved scores zset
-- ARGV[1] save interval ms       ARGV[2] how many at most
-- Returns their members ("<match>:<tournament>").
--#include lib/clock.lua

local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(members) do redis.call('ZADD', KEYS[1], 'XX', now, member) end
return members
