-- submit: take a live score (latest wins); the per-update hot path, one round trip for the whole of it.
--
-- Checks, in Redis and in this order: the caller may post scores to the tournament (its officials'
-- set; skipped for callers the domain trusts, user ''), and the match is live (its gate, see
-- lib/match.lua). Then gives the score the match's next score version, stores it as the live
-- score, and opens a batch (asking the caller to schedule its flush one window later) only when
-- none is pending, or when the pending one is older than max-wait: its flush task was lost or is
-- stuck, so the caller schedules one now. Publishes nothing.
--
-- KEYS[1] match state hash       KEYS[2] pending batches zset
-- KEYS[3] officials set          KEYS[4] tournament state hash
-- ARGV[1] pending member         ARGV[2] tournament id         ARGV[3] user id ('' = trusted)
-- ARGV[4] 'set' or 'add'         ARGV[5] p1 (or its delta)     ARGV[6] p2 (or its delta)
-- ARGV[7] max score              ARGV[8] window ms             ARGV[9] max-wait ms
-- ARGV[10] state TTL s          ARGV[11] the game the score is for ('' = the current one)
-- Returns one of
--   {'schedule' | 'coalesced', token, delay_ms, p1, p2, score_version}
--   {'officials_unknown', access epoch}   the officials' set must be read from the database first
--   {'forbidden'}                         the user is no official of the tournament
--   {'state_unknown'}                     the gate must be read from the database first
--   {'not_live', state}                   the match is scheduled, disputed, completed or being completed
--   {'wrong_game', current game}          the score is for a game that is over (or not begun)
--#include lib/clock.lua

local member, tournament, user = ARGV[1], ARGV[2], ARGV[3]
if user ~= '' then
  if redis.call('EXISTS', KEYS[3]) == 0 then
    return {'officials_unknown', tonumber(redis.call('HGET', KEYS[4], 'access') or 0)}
  end
  if redis.call('SISMEMBER', KEYS[3], user) == 0 then return {'forbidden'} end
end
local state = redis.call('HMGET', KEYS[1], 'done', 'state', 'lease', 'tournament', 'pending', 'since', 'p1', 'p2',
                         'game')
if state[1] == '1' then return {'not_live', 'completed'} end
if not state[2] or state[4] ~= tournament or now >= tonumber(state[3]) then return {'state_unknown'} end
if state[2] ~= 'live' then return {'not_live', state[2]} end
local game = state[9] or '1'
if ARGV[11] ~= '' and ARGV[11] ~= game then return {'wrong_game', tonumber(game)} end

local max_score = tonumber(ARGV[7])
local p1, p2 = tonumber(ARGV[5]), tonumber(ARGV[6])
if ARGV[4] == 'add' then
  p1 = math.min(max_score, math.max(0, (tonumber(state[7]) or 0) + p1))
  p2 = math.min(max_score, math.max(0, (tonumber(state[8]) or 0) + p2))
end
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'p1', p1, 'p2', p2)

local window, max_wait, ttl = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
redis.call('EXPIRE', KEYS[1], ttl)
if state[5] == '1' and now - tonumber(state[6]) < max_wait then return {'coalesced', 0, 0, p1, p2, version} end
local delay = window
if state[5] == '1' then delay = 0 end
local token = redis.call('HINCRBY', KEYS[1], 'token', 1)
redis.call('HSET', KEYS[1], 'pending', '1', 'since', now)
redis.call('ZADD', KEYS[2], now, member)
return {'schedule', token, delay, p1, p2, version}
