-- complete: publish the pending score (if any), then match_completed, and close the match.
--
-- One atomic step: no flush or update can publish anything about the match afterwards ('done').
-- The final score and its version (reserved in the completion's transaction, lua/reserve.lua) are
-- what the database committed.
--
-- KEYS[1] match state hash       KEYS[2] pending batches zset
-- KEYS[3] tournament state hash  KEYS[4] tournament history stream
-- KEYS[5] unsaved scores zset
-- ARGV[1] pending member         ARGV[2] publish target (JSON, lib/publish.lua)
-- ARGV[3] match_completed head   ARGV[4] its tail
-- ARGV[5] score_updated head     ARGV[6] its tail
-- ARGV[7] final p1               ARGV[8] final p2              ARGV[9] its score version
-- ARGV[10] the match's change counter after completion
-- Returns the sequences published, in order (empty if the match was already closed).
--#include lib/clock.lua
--#include lib/publish.lua
--#include lib/match.lua

local member = ARGV[1]
local target = read_target(ARGV[2], KEYS[3], KEYS[4])
if redis.call('HGET', KEYS[1], 'done') == '1' then return {} end
local published = {}
local version = tonumber(ARGV[9])
-- A live score accepted after the completion reserved its version (only once the reservation's
-- lease ran out) is older than the result: it is dropped, not published after it.
if tonumber(redis.call('HGET', KEYS[1], 'version') or 0) <= version then
  local sequence = publish_pending(KEYS[1], KEYS[2], KEYS[5], member, target, ARGV[5], ARGV[6])
  if sequence then published[#published + 1] = sequence end
end
redis.call('HSET', KEYS[1], 'done', '1', 'pending', '0')
redis.call('ZREM', KEYS[2], member)
set_gate(KEYS[1], 'completed', tonumber(ARGV[10]), target.ttl * 1000)
local score = adopt_saved_score(KEYS[1], KEYS[5], member, tonumber(ARGV[7]), tonumber(ARGV[8]), version)
published[#published + 1] = publish(KEYS[1], target, ARGV[3], ARGV[4], score, false)
redis.call('EXPIRE', KEYS[1], target.ttl)
return published
