"""In-process tests against a real Redis and the test database (store scripts, services, API)."""

from tests.harness.redis_state import clean_realtime_state  # noqa: F401 (autouse)
