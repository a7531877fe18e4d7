-- emit: publish any other event with the next sequence of its stream.
--
-- KEYS[1] state hash of the stream (the match's, or the tournament's)
-- KEYS[2] tournament state hash  KEYS[3] tournament history stream
-- ARGV[1] publish target (JSON, lib/publish.lua)
-- ARGV[2] frame head             ARGV[3] frame tail            ARGV[4] score "p1:p2:score_version" it carries, or ''
-- Returns the published sequence.
--#include lib/clock.lua
--#include lib/publish.lua

local target = read_target(ARGV[1], KEYS[2], KEYS[3])
local sequence = publish(KEYS[1], target, ARGV[2], ARGV[3], ARGV[4], false)
redis.call('EXPIRE', KEYS[1], target.ttl)
return sequence
