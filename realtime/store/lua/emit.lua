-- emit: publish a tournament event with the next sequence of the tournament's stream.
--
-- KEYS[1] tournament state hash  KEYS[2] tournament history stream
-- ARGV[1] publish target (JSON, lib/publish.lua)
-- ARGV[2] frame head             ARGV[3] frame tail
-- Returns the published sequence.
--#include lib/clock.lua
--#include lib/publish.lua

local target = read_target(ARGV[1], KEYS[1], KEYS[2])
local sequence = publish(KEYS[1], target, ARGV[2], ARGV[3], nil, false)
redis.call('EXPIRE', KEYS[1], target.ttl)
return sequence
