"""A client that stops reading never slows the others, and is dropped before it costs memory
without bound."""

from __future__ import annotations

import asyncio
import base64
import os
import time

import pytest
import websockets
from asgiref.sync import sync_to_async

from realtime.events import Event, template
from realtime.store import coalescing
from tests.harness.polling import until
from tests.harness.processes import AsgiServer
from tests.harness.spectators import Spectator, is_type

pytestmark = pytest.mark.django_db(transaction=True)

SEND_TIMEOUT_S = 1.5
FRAMES = 2000
FRAME_BYTES = 8000  # random, so per-message compression cannot shrink them: buffers fill quickly


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def established_connections(port: int) -> int:
    """TCP connections to `port` the kernel holds open (both directions of a loopback connection
    show up: count the server's side, local port == `port`)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                count += int(local.rsplit(":", 1)[1], 16) == port and state == "01"
    return count


def publish_big_frames(match_id: int, tournament_id: int, count: int) -> None:
    for index in range(count):
        reason = base64.b64encode(os.urandom(FRAME_BYTES * 3 // 4)).decode()
        frame = template(
            Event.DISPUTE_CREATED,
            {"match_id": match_id, "tournament_id": tournament_id, "version": 1, "dispute_id": index, "reason": reason},
        )
        coalescing.emit_match_event(match_id, tournament_id, frame)


async def test_a_client_that_stops_reading_is_dropped_and_never_delays_the_others(server_env, live_tournament):
    server = AsgiServer({**server_env, "REALTIME_SEND_TIMEOUT_S": str(SEND_TIMEOUT_S)})
    try:
        match = await sync_to_async(lambda: live_tournament.matches.filter(state="live").first())()
        path = f"ws/match/{match.id}/"
        # max_queue=1: the client library stops reading from the socket once one frame is waiting,
        # and this test never takes it: a phone that froze, a script that hung.
        stalled = await websockets.connect(server.ws_url(path), origin=server.http_url, max_queue=1)
        healthy = await Spectator.connect(server, path)
        await healthy.wait_for(is_type("snapshot"))
        rss_before = rss_kib(server.process.process.pid)

        started = time.monotonic()
        await asyncio.to_thread(publish_big_frames, match.id, match.tournament_id, FRAMES)
        last = await healthy.wait_for(is_type("dispute_created", dispute_id=FRAMES - 1), timeout=30)
        assert len(healthy.of_type("dispute_created")) == FRAMES, "the healthy client lost frames"
        assert last is healthy.frames[-1]
        await asyncio.to_thread(server.process.wait_for_output, "stopped reading", timeout=SEND_TIMEOUT_S + 10)
        dropped_after = time.monotonic() - started
        growth_mib = (rss_kib(server.process.process.pid) - rss_before) / 1024
        print(f"\nslow client dropped after {dropped_after:.1f}s; server RSS grew {growth_mib:.1f} MiB meanwhile")
        # nothing queues for it any more: a further burst costs the server no memory for it
        await asyncio.to_thread(publish_big_frames, match.id, match.tournament_id, 200)
        await healthy.wait_for(lambda _: len(healthy.of_type("dispute_created")) == FRAMES + 200, timeout=30)
        # and its connection does not linger with undelivered bytes: aborted after one more timeout
        await until(
            lambda: asyncio.to_thread(established_connections, server.port),
            1,
            timeout=SEND_TIMEOUT_S + 10,
            what="connections open",
        )
        await healthy.close()
        stalled.transport.abort()
    finally:
        server.stop()
