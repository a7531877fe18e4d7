-- save: save task number ARGV[2] of a match ran (scheduled by a flush inside the save interval):
-- should the database be brought up to the published score now? (lib/match.lua `claim_save`: a
-- due flush may have saved it meanwhile, or the task may have run early.) A task that is no longer
-- the scheduled one (a save made it moot) leaves the current one alone.
--
-- KEYS[1] match state hash
-- ARGV[1] save interval ms       ARGV[2] the task's number
-- Returns claim_save's reply.
--#include lib/clock.lua
--#include lib/publish.lua
--#include lib/match.lua

if redis.call('HGET', KEYS[1], 'save_task') == ARGV[2] then redis.call('HDEL', KEYS[1], 'save_task') end
return claim_save(KEYS[1], tonumber(ARGV[1]))
