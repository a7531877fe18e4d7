"""The Redis client and the Lua scripts of realtime (realtime/store/lua/).

Each script is a `.lua` file whose header says what its KEYS and ARGV are. A line
`--#include lib/<name>.lua` is replaced by that file, so the scripts share one clock and one
`publish` without Python string templating. Script objects run EVALSHA and load the script again
by themselves after a Redis restart.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import redis
from django.conf import settings
from redis.commands.core import Script

LUA_DIR = Path(__file__).resolve().parent / "lua"
_INCLUDE = re.compile(r"^--#include (\S+)$", re.MULTILINE)


def source(name: str) -> str:
    """The complete source of `lua/<name>.lua`, its includes expanded."""
    text = (LUA_DIR / f"{name}.lua").read_text()
    return _INCLUDE.sub(lambda include: (LUA_DIR / include.group(1)).read_text(), text)


@functools.cache
def client() -> redis.Redis:
    """The process's Redis client (a thread-safe pool). Fails fast: the API turns errors into 503s."""
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=30,
    )


@functools.cache
def script(name: str) -> Script:
    return client().register_script(source(name))


def reset() -> None:
    """Forget the client and the scripts (after REDIS_URL changes: tests that run their own Redis)."""
    client.cache_clear()
    script.cache_clear()
