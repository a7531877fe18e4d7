-- officials: who may post live scores to a tournament's matches, as the database said when the
-- caller read it; written only if no change of officials was announced since (`access` unchanged),
-- so a slow reader never restores a revoked official.
--
-- KEYS[1] officials set          KEYS[2] tournament state hash
-- ARGV[1] access epoch the caller saw before reading the database
-- ARGV[2] lifetime s             ARGV[3..] user ids
-- Returns 1 if written.

if tonumber(redis.call('HGET', KEYS[2], 'access') or 0) ~= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SADD', KEYS[1], '', unpack(ARGV, 3))  -- '' keeps the set in existence with no official
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
