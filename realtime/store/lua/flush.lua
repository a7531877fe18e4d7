-- flush: publish a match's pending score if the caller's token is still current; say whether and
-- when the database is to be brought up to it (lib/match.lua `claim_save`).
--
-- A stale token, a second run of the same task, or a completed match publishes nothing. The sweep
-- passes token '' to publish whatever is pending. The database is written at most once per save
-- interval per match: a flush inside the interval has a save task scheduled for its end (one at a
-- time), which saves the latest published score then. Until it is saved, a match stays in the
-- unsaved zset, for the sweep, in case that task's worker dies.
--
-- KEYS[1] match state hash       KEYS[2] pending batches zset
-- KEYS[3] tournament state hash  KEYS[4] tournament history stream
-- KEYS[5] unsaved scores zset
-- ARGV[1] pending member         ARGV[2] token ('' = any)      ARGV[3] publish target (JSON, lib/publish.lua)
-- ARGV[4] score_updated head     ARGV[5] its tail              ARGV[6] save interval ms
-- Returns {0} (nothing published), or {sequence, lag ms (batch opened -> published), claim_save's reply...}.
--#include lib/clock.lua
--#include lib/publish.lua
--#include lib/match.lua

local member, token = ARGV[1], ARGV[2]
local target = read_target(ARGV[3], KEYS[3], KEYS[4])
local state = redis.call('HMGET', KEYS[1], 'done', 'pending', 'token')
if state[1] == '1' or state[2] ~= '1' then
  redis.call('ZREM', KEYS[2], member)
  return {0}
end
if token ~= '' and token ~= state[3] then return {0} end
local opened = tonumber(redis.call('HGET', KEYS[1], 'since')) or now
local sequence = publish_pending(KEYS[1], KEYS[2], KEYS[5], member, target, ARGV[4], ARGV[5])
redis.call('EXPIRE', KEYS[1], target.ttl)
return {sequence, now - opened, unpack(claim_save(KEYS[1], tonumber(ARGV[6])))}
