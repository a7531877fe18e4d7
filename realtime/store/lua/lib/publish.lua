-- publish(state_key, target, head, tail, score, latest_only) -> sequence
--
-- The one way a frame leaves Redis. Assigns the next sequence of `state_key` (the match's or the
-- tournament's hash), renders the frame, PUBLISHes it to the rooms' channel-layer channels and
-- appends it to the tournament's history, all in the calling script: Redis runs one script at a
-- time, so the order of sequences is the order of publishes.
--
-- The frame is `head .. sequence .. score_fields .. tail`. `score` is nil for a frame without a
-- score, else {p1, p2, score_version, game}: the fields are rendered here (score versions are
-- assigned in Redis), and the score becomes the match's published score
-- ("p1:p2:score_version:game"): what every client displays at that sequence, what snapshots show
-- and what the database is brought up to.
--
-- `target` is read_target(json, tournament_key, history_key): where the stream's frames go.
--   json = {"stream": "m:5", "rooms": [[group, pub/sub channel], ...], "ttl": s,
--           "history_length": n, "history_age_ms": ms, "recheck": true?}
--   recheck: who may watch may have changed; consumers check again before forwarding the frame.
-- Needs lib/clock.lua.

local function read_target(json, tournament_key, history_key)
  local target = cjson.decode(json)
  target.tournament_key, target.history_key = tournament_key, history_key
  return target
end

local function publish(state_key, target, head, tail, score, latest_only)
  local sequence = redis.call('HINCRBY', state_key, 'seq', 1)
  local fields = ''
  if score then
    fields = ',"score_version":' .. score[3] .. ',"participant1_score":' .. score[1]
      .. ',"participant2_score":' .. score[2] .. ',"game":' .. score[4]
    redis.call('HSET', state_key, 'published_score', table.concat(score, ':', 1, 4))
  end
  local frame = head .. sequence .. fields .. tail
  local history_id = redis.call('XADD', target.history_key, 'MAXLEN', target.history_length, '*',
                                's', target.stream, 'q', sequence, 'f', frame)
  -- The channels-redis pub/sub layer's message for each room (realtime.store.keys.FRAME_MESSAGE_TYPE):
  -- one per room, naming its group, because a process's one channel is in the groups of all its rooms.
  -- `h`: the frame's entry in the history (server-sent events resume from it).
  for _, room in ipairs(target.rooms) do
    redis.call('PUBLISH', room[2], cjson.encode({
      type = 'realtime.frame', group = room[1], stream = target.stream, sequence = sequence, frame = frame,
      h = history_id, recheck = target.recheck, latest = latest_only or nil, scored = (score ~= nil) or nil,
    }))
  end
  -- The epoch is set once and lives as long as the state: a new one means the state was lost.
  redis.call('HSETNX', target.tournament_key, 'epoch', clock[1] .. '-' .. clock[2])
  redis.call('EXPIRE', target.tournament_key, target.ttl)
  redis.call('XTRIM', target.history_key, 'MINID', (now - target.history_age_ms) .. '-0')
  redis.call('EXPIRE', target.history_key, target.ttl)
  return sequence
end
