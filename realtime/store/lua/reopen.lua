-- reopen: a completion's transaction failed after lua/reserve.lua shut the gate for it: live again.
-- Only the reservation's own completion reopens (another may have shut the gate since).
--
-- KEYS[1] match state hash
-- ARGV[1] the score version the completion reserved              ARGV[2] gate lease ms
-- Returns 1 if the gate was reopened.
--#include lib/clock.lua

local state = redis.call('HMGET', KEYS[1], 'state', 'closing')
if state[1] ~= 'closing' or state[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'live', 'lease', now + tonumber(ARGV[2]))
return 1
