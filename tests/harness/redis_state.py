"""The autouse fixture of every test that uses Redis: a real server, no realtime state left over."""

from __future__ import annotations

import os

import pytest
import redis
from django.conf import settings

from realtime.store import keys


@pytest.fixture(autouse=True)
def clean_realtime_state():
    """Each test starts with no realtime state (keys of other subsystems are left alone)."""
    if not os.environ.get("REDIS_URL"):
        pytest.fail("REDIS_URL is not set: run the suite with `make test` (it provides Redis).", pytrace=False)
    client = redis.Redis.from_url(settings.REDIS_URL)
    found = list(client.scan_iter(match=f"{keys.PREFIX}*", count=1000))
    if found:
        client.delete(*found)
    client.close()
