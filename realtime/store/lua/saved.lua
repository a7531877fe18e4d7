-- saved: the database now holds this score version of the match; once it holds the published
-- score, the match leaves the unsaved zset.
--
-- KEYS[1] match state hash       KEYS[2] unsaved scores zset
-- ARGV[1] unsaved member         ARGV[2] score version written
-- Returns 1 if nothing published is left unsaved.

local version = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'saved', 'published_score')
local saved = math.max(tonumber(state[1]) or 0, version)
redis.call('HSET', KEYS[1], 'saved', saved)
local published = tonumber(string.match(state[2] or '', '^%d+:%d+:(%d+)') or 0)
if saved < published then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
