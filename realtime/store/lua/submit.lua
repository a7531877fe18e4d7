-- submit: record the latest score of a live match (latest wins); the per-update hot path.
--
-- Stores the newest score frame. Opens a batch (and asks the caller to schedule its flush one
-- window later) only when none is pending, or when the pending one is older than max-wait: its
-- flush task was lost or is stuck, so the caller schedules one now. Publishes nothing.
--
-- KEYS[1] match state hash       KEYS[2] pending batches zset
-- ARGV[1] pending member         ARGV[2] score version (newer wins)
-- ARGV[3] frame head             ARGV[4] frame tail            ARGV[5] score "p1:p2:score_version"
-- ARGV[6] window ms              ARGV[7] max-wait ms           ARGV[8] state TTL s
-- Returns {status, token, delay_ms}; status: schedule | coalesced | stale | closed.
--#include lib/clock.lua

local member, version, head, tail, score = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local window, max_wait, ttl = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local state = redis.call('HMGET', KEYS[1], 'done', 'version', 'pending', 'since')
if state[1] == '1' then return {'closed', 0, 0} end
if state[2] and version <= tonumber(state[2]) then return {'stale', 0, 0} end
redis.call('HSET', KEYS[1], 'version', version, 'head', head, 'tail', tail, 'score', score)
if state[3] == '1' and now - tonumber(state[4]) < max_wait then return {'coalesced', 0, 0} end
local delay = window
if state[3] == '1' then delay = 0 end
local token = redis.call('HINCRBY', KEYS[1], 'token', 1)
redis.call('HSET', KEYS[1], 'pending', '1', 'since', now)
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now, member)
return {'schedule', token, delay}
