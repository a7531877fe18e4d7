"""End-to-end tests: real ASGI servers, Celery workers, WebSocket clients and Chromium."""

from tests.harness.browser import browser  # noqa: F401 (the page tests' Chromium)
from tests.harness.people import pages  # noqa: F401 (one browser context per person)
from tests.harness.redis_state import clean_realtime_state  # noqa: F401 (autouse)
