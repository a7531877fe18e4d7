"""API token authentication without a database query per request.

Game servers post scores many times a second with the same token; DRF's `TokenAuthentication` reads
the token and its user from the database on every request. `CachedTokenAuthentication` remembers a
valid token's user in the process for `API_TOKEN_CACHE_S` seconds: a token deleted (rotated) or a
user deactivated keeps working for at most that long in each web process. Unknown tokens are not
remembered (a token just created works at once). What the caller may do is not cached here: roles
are checked per request (in Redis for live scores, in the database elsewhere).
"""

from __future__ import annotations

import copy
import threading
import time

from django.conf import settings
from rest_framework.authentication import TokenAuthentication

MAX_CACHED_TOKENS = 10_000
_now = time.monotonic


class CachedTokenAuthentication(TokenAuthentication):
    _cache: dict[str, tuple[float, object, object]] = {}  # key -> (expires, user, token)
    _lock = threading.Lock()

    def authenticate_credentials(self, key: str):
        now = _now()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            _, user, token = cached
            return copy.copy(user), token  # a request of its own may set attributes on its user
        user, token = super().authenticate_credentials(key)  # raises AuthenticationFailed
        with self._lock:
            if len(self._cache) >= MAX_CACHED_TOKENS:
                self._cache.clear()
            self._cache[key] = (now + settings.API_TOKEN_CACHE_S, user, token)
        return copy.copy(user), token
