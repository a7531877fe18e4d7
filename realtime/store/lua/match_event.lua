-- match_event: publish an event about a match (started, disputed, dispute resolved, reopened,
-- cancelled), after the match's pending live score, and move the match's gate to the state the
-- event leaves it in. A reopening opens a closed match again: its stream goes on.
--
-- Everything accepted before the change is published before it: the pending score goes first.
--
-- KEYS[1] match state hash       KEYS[2] pending batches zset
-- KEYS[3] tournament state hash  KEYS[4] tournament history stream
-- KEYS[5] unsaved scores zset
-- ARGV[1] pending member         ARGV[2] publish target (JSON, lib/publish.lua)
-- ARGV[3] score_updated head     ARGV[4] its tail
-- ARGV[5] frame head             ARGV[6] its tail
-- ARGV[7] the score the frame carries: '' none, 'live' the live score, 'saved' the one below (in the database)
-- ARGV[8] p1                     ARGV[9] p2                    ARGV[10] its score version
-- ARGV[11] gate state ('' = unchanged)                         ARGV[12] the match's change counter
-- ARGV[13] gate lease ms         ARGV[14] tournament id
-- ARGV[15] the game being played ARGV[16] '1': the match is reopened (no longer closed)
-- Returns the sequences published, in order.
--#include lib/clock.lua
--#include lib/publish.lua
--#include lib/match.lua

local member = ARGV[1]
local target = read_target(ARGV[2], KEYS[3], KEYS[4])
local game = tonumber(ARGV[15])
if ARGV[16] == '1' then redis.call('HDEL', KEYS[1], 'done', 'closing') end
local published = {}
local pending = publish_pending(KEYS[1], KEYS[2], KEYS[5], member, target, ARGV[3], ARGV[4])
if pending then published[#published + 1] = pending end
local p1, p2, version = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
seed_score(KEYS[1], p1, p2, version, game)
local score = nil
if ARGV[7] == 'live' then
  score = live_score(KEYS[1])
elseif ARGV[7] == 'saved' then
  score = adopt_saved_score(KEYS[1], KEYS[5], member, p1, p2, version, game)
end
redis.call('HSET', KEYS[1], 'tournament', ARGV[14])
set_gate(KEYS[1], ARGV[11], tonumber(ARGV[12]), tonumber(ARGV[13]))
published[#published + 1] = publish(KEYS[1], target, ARGV[5], ARGV[6], score, false)
redis.call('EXPIRE', KEYS[1], target.ttl)
return published
