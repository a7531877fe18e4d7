-- flush: publish a match's pending score if the caller's token is still current.
--
-- A stale token, a second run of the same task, or a completed match publishes nothing. The sweep
-- passes token '' to publish whatever is pending.
--
-- KEYS[1] match state hash       KEYS[2] pending batches zset
-- KEYS[3] tournament state hash  KEYS[4] tournament history stream
-- ARGV[1] pending member         ARGV[2] token ('' = any)      ARGV[3] publish target (JSON, lib/publish.lua)
-- Returns the published sequence, or 0.
--#include lib/clock.lua
--#include lib/publish.lua

local member, token = ARGV[1], ARGV[2]
local target = read_target(ARGV[3], KEYS[3], KEYS[4])
local state = redis.call('HMGET', KEYS[1], 'done', 'pending', 'token', 'head', 'tail', 'score')
if state[1] == '1' or state[2] ~= '1' then
  redis.call('ZREM', KEYS[2], member)
  return 0
end
if token ~= '' and token ~= state[3] then return 0 end
redis.call('HSET', KEYS[1], 'pending', '0')
redis.call('ZREM', KEYS[2], member)
redis.call('EXPIRE', KEYS[1], target.ttl)
return publish(KEYS[1], target, state[4], state[5], state[6], true)
