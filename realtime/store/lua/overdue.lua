-- overdue: pending batches opened more than max-wait ago (their flush task was lost or is late).
--
-- KEYS[1] pending batches zset
-- ARGV[1] max-wait ms            ARGV[2] how many at most
-- Returns their members ("<match>:<tournament>").
--#include lib/clock.lua

return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
