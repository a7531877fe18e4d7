-- What every script about one match shares: its live score, and publishing what is pending.
--
-- A match's hash (KEYS of the calling script: `match_key`) holds its live score `p1`, `p2`, the
-- number `game` of the game it belongs to (a series has several; 1 if absent) and the score
-- version `version` (every score the match ever had got the next one, here), `pending`
-- ('1' while a live score waits for its window's flush), `since`, `token`, and `saved` / `saved_at` /
-- `save_task` / `save_tasks` (the score version the database holds, when it was last asked to save
-- one, the scheduled save task's number, and how many were ever scheduled).
-- Needs lib/clock.lua and lib/publish.lua.

-- A score is {p1, p2, score_version, game}.
local function live_score(match_key)
  local s = redis.call('HMGET', match_key, 'p1', 'p2', 'version', 'game')
  return {tonumber(s[1]) or 0, tonumber(s[2]) or 0, tonumber(s[3]) or 0, tonumber(s[4]) or 1}
end

-- Publish the pending live score (a score_updated frame: `score_head` .. sequence .. `score_tail`),
-- if there is one, and remember that the database is behind it. Returns its sequence, or nil.
local function publish_pending(match_key, pending_key, unsaved_key, member, target, score_head, score_tail)
  if redis.call('HGET', match_key, 'pending') ~= '1' then return nil end
  redis.call('HSET', match_key, 'pending', '0')
  redis.call('ZREM', pending_key, member)
  redis.call('ZADD', unsaved_key, 'NX', now, member)
  return publish(match_key, target, score_head, score_tail, live_score(match_key), true)
end

-- Whether the database is to be brought up to the published score now: at most once per save
-- interval per match. Returns {'save', p1, p2, score_version} (now: the caller writes it, then runs
-- saved.lua), {'later', ms, task} (the caller schedules save task number `task`, lua/save.lua, in
-- ms), or {} (the database holds it, or a save task is already on its way). A save now makes any
-- scheduled task moot: it is forgotten, so that a task lost with its worker is never waited for.
local function claim_save(match_key, interval_ms)
  local s = redis.call('HMGET', match_key, 'saved', 'published_score', 'saved_at', 'save_task')
  local p1, p2, version = string.match(s[2] or '', '^(%d+):(%d+):(%d+)')
  if not version or (tonumber(s[1]) or 0) >= tonumber(version) then return {} end
  local due = (tonumber(s[3]) or 0) + interval_ms
  if now >= due then
    redis.call('HSET', match_key, 'saved_at', now)
    redis.call('HDEL', match_key, 'save_task')
    return {'save', p1, p2, version}
  end
  if s[4] then return {} end
  local task = redis.call('HINCRBY', match_key, 'save_tasks', 1)
  redis.call('HSET', match_key, 'save_task', task)
  return {'later', due - now, task}
end

-- A score the database already holds (a completion or a correction, written in its transaction):
-- it becomes the live score (of game `game`), and nothing older needs saving any more.
local function adopt_saved_score(match_key, unsaved_key, member, p1, p2, version, game)
  redis.call('HSET', match_key, 'p1', p1, 'p2', p2, 'saved', version, 'game', game)
  if tonumber(redis.call('HGET', match_key, 'version') or 0) < version then
    redis.call('HSET', match_key, 'version', version)
  end
  redis.call('ZREM', unsaved_key, member)
  return {p1, p2, version, game}
end

-- The gate: which state the database gave the match (`state`, at the match's change counter
-- `state_version`), trusted until `lease` (ms). Writes carrying an older state_version are ignored,
-- so a slow writer never rolls the gate back.
local function set_gate(match_key, state, state_version, lease_ms)
  if state == '' then return end
  local known = tonumber(redis.call('HGET', match_key, 'state_version') or -1)
  if state_version < known then return end
  redis.call('HSET', match_key, 'state', state, 'state_version', state_version, 'lease', now + lease_ms)
end

-- What the database knows of the match's score, for a hash that lost it (expired, or Redis lost its
-- data): fills in what is missing; never lowers the score version.
local function seed_score(match_key, p1, p2, score_version, game)
  redis.call('HSETNX', match_key, 'p1', p1)
  redis.call('HSETNX', match_key, 'p2', p2)
  redis.call('HSETNX', match_key, 'game', game)
  if tonumber(redis.call('HGET', match_key, 'version') or 0) < score_version then
    redis.call('HSET', match_key, 'version', score_version)
  end
end
