"""The one place that knows realtime's Redis keys and Lua scripts.

- `keys`: every key name, and `Room` (a room's group, pub/sub channel, stream and presence key);
- `scripts`: the Redis client and the scripts of `lua/` (each with a KEYS/ARGV header);
- `coalescing`: latest-wins score batches, token-checked flushes, completion, other events;
- `history`: the position (epoch, sequences, published scores) and the resume history;
- `presence`: connections counted per room.
"""
