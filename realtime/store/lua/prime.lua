-- prime: the gate and the score as the database holds them, for a match whose hash does not know
-- them (never written, expired, the lease ran out, or Redis lost its data).
--
-- KEYS[1] match state hash
-- ARGV[1] state                  ARGV[2] the match's change counter
-- ARGV[3] gate lease ms          ARGV[4] tournament id
-- ARGV[5] p1                     ARGV[6] p2                    ARGV[7] score version
-- ARGV[8] state TTL s           ARGV[9] the game being played
-- Returns 1.
--#include lib/clock.lua
--#include lib/publish.lua
--#include lib/match.lua

seed_score(KEYS[1], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[9]))
redis.call('HSET', KEYS[1], 'tournament', ARGV[4])
set_gate(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[8]))
return 1
