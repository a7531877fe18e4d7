"""Django's Redis cache, with one connection pool per process instead of one per request.

`django.core.cache.caches` makes a new cache object per async context, so under ASGI every request
gets a new `RedisCache`, a new connection pool and a new TCP connection to Redis (connect, then a
health check) for its first cache call: measured, the biggest single cost of a throttled API request.
Here the client (which owns the pools) is shared by every cache object of the same configuration.
"""

from __future__ import annotations

import functools
import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[str, RedisCacheClient] = {}
_lock = threading.Lock()


class SharedPoolRedisCache(RedisCache):
    @functools.cached_property
    def _cache(self) -> RedisCacheClient:
        configuration = repr((self._servers, sorted(self._options.items())))
        with _lock:
            if configuration not in _clients:
                _clients[configuration] = RedisCacheClient(self._servers, **self._options)
            return _clients[configuration]
