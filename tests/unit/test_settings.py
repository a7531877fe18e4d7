"""Settings read from the environment refuse what they cannot mean."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from project.settings import env_origins


def test_origin_lists_take_origins_and_stop_the_start_on_anything_else(monkeypatch):
    monkeypatch.setenv("SOME_ORIGINS", " https://partner.example , http://127.0.0.1:8081")
    assert env_origins("SOME_ORIGINS") == ["https://partner.example", "http://127.0.0.1:8081"]
    for bad in ("partner.example", "https://partner.example/embed", "ftp://x", "http://x:port", "https://a?b=1",
                "http://user@host"):  # fmt: skip
        monkeypatch.setenv("SOME_ORIGINS", bad)
        with pytest.raises(ImproperlyConfigured, match="SOME_ORIGINS"):
            env_origins("SOME_ORIGINS")
