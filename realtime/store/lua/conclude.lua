-- conclude: publish the pending score (if any), then the frames that end a game or the match
-- (game_completed, match_completed: one or both, in that order), all in one atomic step; then
-- either close the match or go on with its next game.
--
-- Nothing about a game follows its game_completed: its pending score goes first, and a live score
-- accepted after the conclusion reserved its version (only once the reservation's lease ran out)
-- is dropped, not published after it. Closing (the match is over), nothing about the match follows
-- the last frame ('done'). The final score and its version (reserved in the transaction,
-- lua/reserve.lua) are what the database committed.
--
-- KEYS[1] match state hash       KEYS[2] pending batches zset
-- KEYS[3] tournament state hash  KEYS[4] tournament history stream
-- KEYS[5] unsaved scores zset
-- ARGV[1] pending member         ARGV[2] publish target (JSON, lib/publish.lua)
-- ARGV[3] score_updated head     ARGV[4] its tail
-- ARGV[5] final p1               ARGV[6] final p2              ARGV[7] its score version
-- ARGV[8] the game it ends       ARGV[9] the match's change counter after it
-- ARGV[10] the next game's number, '' to close the match        ARGV[11] gate lease ms
-- ARGV[12], ARGV[13] the first frame's head and tail; ARGV[14], ARGV[15] the second's, if any
-- Returns the sequences published, in order (empty if the match was already closed).
--#include lib/clock.lua
--#include lib/publish.lua
--#include lib/match.lua

local member = ARGV[1]
local target = read_target(ARGV[2], KEYS[3], KEYS[4])
if redis.call('HGET', KEYS[1], 'done') == '1' then return {} end
local published = {}
local version = tonumber(ARGV[7])
if tonumber(redis.call('HGET', KEYS[1], 'version') or 0) <= version then
  local sequence = publish_pending(KEYS[1], KEYS[2], KEYS[5], member, target, ARGV[3], ARGV[4])
  if sequence then published[#published + 1] = sequence end
end
redis.call('HSET', KEYS[1], 'pending', '0')
redis.call('ZREM', KEYS[2], member)
local score = adopt_saved_score(KEYS[1], KEYS[5], member, tonumber(ARGV[5]), tonumber(ARGV[6]), version,
                                tonumber(ARGV[8]))
for i = 12, #ARGV, 2 do
  published[#published + 1] = publish(KEYS[1], target, ARGV[i], ARGV[i + 1], score, false)
end
local state_version = tonumber(ARGV[9])
if ARGV[10] == '' then
  redis.call('HSET', KEYS[1], 'done', '1')
  set_gate(KEYS[1], 'completed', state_version, target.ttl * 1000)
else
  -- The next game starts at 0:0 (at the reserved version, as the database holds it).
  adopt_saved_score(KEYS[1], KEYS[5], member, 0, 0, version, tonumber(ARGV[10]))
  redis.call('HSET', KEYS[1], 'published_score', '0:0:' .. version .. ':' .. ARGV[10])
  set_gate(KEYS[1], 'live', state_version, tonumber(ARGV[11]))
end
redis.call('EXPIRE', KEYS[1], target.ttl)
return published
