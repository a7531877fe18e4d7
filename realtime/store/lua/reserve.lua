-- reserve: the next score version of a match, for a score written in a database transaction (a
-- completion, a correction), so it is newer than every live score accepted before it. With
-- close = '1' (a completion) the gate is shut ('closing') in the same step: no live score is
-- accepted after the reservation; lua/reopen.lua opens it again if the transaction fails, and the
-- lease reopens it if the process died.
--
-- KEYS[1] match state hash
-- ARGV[1] the database's score version (a floor: the hash may have lost its own)
-- ARGV[2] close ('1' or '')       ARGV[3] the match's change counter
-- ARGV[4] gate lease ms           ARGV[5] tournament id        ARGV[6] state TTL s
-- Returns {the reserved score version, p1, p2} with the live score as Redis holds it (-1, -1 if
-- it does not: the database's is the latest then).
--#include lib/clock.lua
--#include lib/publish.lua
--#include lib/match.lua

local floor = tonumber(ARGV[1])
if tonumber(redis.call('HGET', KEYS[1], 'version') or 0) < floor then redis.call('HSET', KEYS[1], 'version', floor) end
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'tournament', ARGV[5])
  set_gate(KEYS[1], 'closing', tonumber(ARGV[3]), tonumber(ARGV[4]))
  redis.call('HSET', KEYS[1], 'closing', version)
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
local live = redis.call('HMGET', KEYS[1], 'p1', 'p2')
return {version, tonumber(live[1]) or -1, tonumber(live[2]) or -1}
