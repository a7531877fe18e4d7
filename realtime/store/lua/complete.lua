-- complete: publish the pending score (if any), then match_completed, and close the match.
--
-- One atomic step: no flush or update can publish anything about the match afterwards ('done').
--
-- KEYS[1] match state hash       KEYS[2] pending batches zset
-- KEYS[3] tournament state hash  KEYS[4] tournament history stream
-- ARGV[1] pending member         ARGV[2] publish target (JSON, lib/publish.lua)
-- ARGV[3] match_completed head   ARGV[4] its tail              ARGV[5] its score "p1:p2:score_version"
-- Returns the sequences published, in order (empty if the match was already closed).
--#include lib/clock.lua
--#include lib/publish.lua

local member = ARGV[1]
local target = read_target(ARGV[2], KEYS[3], KEYS[4])
local state = redis.call('HMGET', KEYS[1], 'done', 'pending', 'head', 'tail', 'score')
if state[1] == '1' then return {} end
local published = {}
if state[2] == '1' then published[#published + 1] = publish(KEYS[1], target, state[3], state[4], state[5], true) end
redis.call('HSET', KEYS[1], 'done', '1', 'pending', '0')
redis.call('ZREM', KEYS[2], member)
published[#published + 1] = publish(KEYS[1], target, ARGV[3], ARGV[4], ARGV[5], false)
redis.call('EXPIRE', KEYS[1], target.ttl)
return published
