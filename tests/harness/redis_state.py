"""The autouse fixture of every test that uses Redis: a real server, no realtime state left over."""

from __future__ import annotations

import os

import pytest
import redis
from django.conf import settings

from realtime.store import keys


@pytest.fixture(autouse=True)
def clean_realtime_state():
    """Each test starts with no realtime state and no cache (throttle counts, login failures); the
    broker's and the channel layer's keys are left alone."""
    if not os.environ.get("REDIS_URL"):
        pytest.fail("REDIS_URL is not set: run the suite with `make test` (it provides Redis).", pytrace=False)
    client = redis.Redis.from_url(settings.REDIS_URL)
    for prefix in (keys.PREFIX, settings.CACHES["default"]["KEY_PREFIX"]):
        found = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if found:
            client.delete(*found)
    client.close()
