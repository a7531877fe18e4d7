"""The throttle of the score feed: a counter per caller per fixed window, in the shared cache.

DRF's `ScopedRateThrottle` keeps every request's timestamp of the last period in one cache entry,
read and written whole by each request: at feed rates (thousands a minute) that is tens of kilobytes
pickled, sent and parsed twice per request, and two concurrent requests can each overwrite the
other's. A counter per window is a few bytes and counts atomically (INCR). The price: a caller may
send up to twice the rate across a window boundary. Rarer, costlier actions (bracket generation,
disputes) keep DRF's exact sliding log.
"""

from __future__ import annotations

from rest_framework.throttling import ScopedRateThrottle


class FeedRateThrottle(ScopedRateThrottle):
    """The view's `throttle_scope` rate, counted per caller in fixed windows of the rate's period."""

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        key = f"{key}:{window}"
        try:
            count = self.cache.incr(key)
        except ValueError:  # the window's first request (or two of them, at once: one adds, one counts)
            # It lives a second past its window, so a request counted inside the window never finds it gone.
            count = 1 if self.cache.add(key, 1, self.duration + 1) else self.cache.incr(key)
        return count <= self.num_requests

    def wait(self) -> float:
        return max(self.window_ends - self.now, 0.0)
