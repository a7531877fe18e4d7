"""Waiting for a state that changes without an event to wait on (spectator counts, the kernel's
connection table, the database), by reading it again until it is the expected one or time is up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def until(read: Callable[[], Awaitable[Any]], expected: Any, *, timeout: float, what: str) -> None:
    """Poll `read()` every 0.1 s until it returns `expected`; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while (got := await read()) != expected:
        assert time.monotonic() < deadline, f"{what} stayed {got!r}, expected {expected!r}"
        await asyncio.sleep(0.1)  # nothing announces the change: read again
