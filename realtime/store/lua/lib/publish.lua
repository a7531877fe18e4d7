-- publish(state_key, target, head, tail, score, latest_only) -> sequence
--
-- The one way a frame leaves Redis. Assigns the next sequence of `state_key` (the match's or the
-- tournament's hash), renders the frame `head .. sequence .. tail`, PUBLISHes it to the rooms'
-- channel-layer channels and appends it to the tournament's history, all in the calling script:
-- Redis runs one script at a time, so the order of sequences is the order of publishes.
-- `score` ("p1:p2:score_version", or '' for a frame without one) becomes the match's published
-- score: what every client displays at that sequence, and what snapshots must agree with.
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
  local frame = head .. sequence .. tail
  if score ~= '' then redis.call('HSET', state_key, 'published_score', score) end
  -- The channels-redis pub/sub layer's message for each room (realtime.store.keys.FRAME_MESSAGE_TYPE):
  -- one per room, naming its group, because a process's one channel is in the groups of all its rooms.
  for _, room in ipairs(target.rooms) do
    redis.call('PUBLISH', room[2], cjson.encode({
      type = 'realtime.frame', group = room[1], stream = target.stream, sequence = sequence, frame = frame,
      recheck = target.recheck, latest = latest_only or nil, scored = (score ~= '') or nil,
    }))
  end
  -- The epoch is set once and lives as long as the state: a new one means the state was lost.
  redis.call('HSETNX', target.tournament_key, 'epoch', clock[1] .. '-' .. clock[2])
  redis.call('EXPIRE', target.tournament_key, target.ttl)
  redis.call('XADD', target.history_key, 'MAXLEN', target.history_length, '*',
             's', target.stream, 'q', sequence, 'f', frame)
  redis.call('XTRIM', target.history_key, 'MINID', (now - target.history_age_ms) .. '-0')
  redis.call('EXPIRE', target.history_key, target.ttl)
  return sequence
end
