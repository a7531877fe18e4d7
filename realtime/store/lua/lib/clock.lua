-- Redis's clock in milliseconds, so the clocks of the processes calling the scripts never matter.
-- Defines `clock` (TIME's reply: seconds, microseconds) and `now` (ms).
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
