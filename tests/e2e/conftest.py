"""End-to-end tests: real ASGI servers, Celery workers, WebSocket clients and Chromium."""

import pytest
from django.test import override_settings

from project.localredis import free_port, start_server, stop_server
from realtime.store import scripts
from tests.harness.browser import browser  # noqa: F401 (the page tests' Chromium)
from tests.harness.people import pages  # noqa: F401 (one browser context per person)
from tests.harness.redis_state import clean_realtime_state  # noqa: F401 (autouse)


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of this test's own, which it may stop and start, used by the realtime store.

    A test that restarts the server puts the new one in `["process"]`; that one is stopped at the end.
    """
    port = free_port()
    redis = {"port": port, "dir": tmp_path, "process": start_server(port, tmp_path)}
    try:
        with override_settings(REDIS_URL=f"redis://127.0.0.1:{port}/0"):
            scripts.reset()
            yield redis
    finally:
        scripts.reset()
        stop_server(redis["process"])
