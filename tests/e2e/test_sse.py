"""Server-sent events through a real ASGI server, read by a real HTTP client: the snapshot, live frames
(conflated like the tournament room), heartbeats, and a reconnect that resumes with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from asgiref.sync import sync_to_async

from tests.harness import factories
from tests.harness.factories import first_live_match
from tests.harness.processes import AsgiServer
from tests.harness.reference_client import unbatched
from tournaments.models import Tournament

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


@pytest.fixture(scope="module")
def sse_server(server_env):
    server = AsgiServer({**server_env, "SSE_HEARTBEAT_S": "0.5"})
    yield server
    server.stop()


class EventStream:
    """A client of one stream: every event (id, parsed frame) and every heartbeat, as they arrive."""

    def __init__(self) -> None:
        self.events: list[tuple[str | None, dict]] = []
        self.heartbeats = 0
        self.status: int | None = None
        self.changed = asyncio.Condition()
        self.task: asyncio.Task | None = None

    @classmethod
    async def open(cls, server: AsgiServer, path: str, last_event_id: str | None = None) -> EventStream:
        stream = cls()
        stream.task = asyncio.create_task(stream._read(server, path, last_event_id))
        await stream.wait_until(lambda: stream.status is not None, "the answer")
        return stream

    async def _read(self, server: AsgiServer, path: str, last_event_id: str | None) -> None:
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        async with (
            httpx.AsyncClient(base_url=server.http_url, timeout=None) as client,
            client.stream("GET", path, headers=headers) as response,
        ):
            async with self.changed:
                self.status = response.status_code
                self.changed.notify_all()
            event_id, data = None, None
            async for line in response.aiter_lines():
                async with self.changed:
                    if line.startswith(":"):
                        self.heartbeats += 1
                    elif line.startswith("id: "):
                        event_id = line[4:]
                    elif line.startswith("data: "):
                        data = line[6:]
                    elif line == "" and data is not None:
                        self.events.append((event_id, json.loads(data)))
                        event_id, data = None, None
                    self.changed.notify_all()

    async def wait_until(self, condition, what: str, timeout: float = 10) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(condition), timeout)

    def frames(self) -> list[dict]:
        return unbatched(frame for _, frame in self.events)

    def last_id(self) -> str:
        return [event_id for event_id, _ in self.events if event_id][-1]

    async def close(self) -> None:
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


async def post_score(server, token: str, match_id: int, p1: int) -> None:
    async with httpx.AsyncClient(base_url=server.http_url, headers={"Authorization": f"Token {token}"}) as client:
        response = await client.post(
            f"/api/matches/{match_id}/score/", json={"participant1_score": p1, "participant2_score": 0}
        )
    assert response.status_code == 202


def scores_of(stream: EventStream, match_id: int) -> list[int]:
    return [f["data"]["participant1_score"] for f in stream.frames() if f["type"] == "score_updated"
            and f["data"]["match_id"] == match_id]  # fmt: skip


async def viewers(server, tournament_id: int) -> int:
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        return (await client.get(f"/api/tournaments/{tournament_id}/")).json()["viewers"]["tournament"]


async def test_a_tournament_stream_sends_the_snapshot_then_live_frames_and_resumes_after_a_reconnect(
    sse_server, live_tournament, organizer
):
    match = await sync_to_async(first_live_match)(live_tournament)
    path = f"/sse/tournament/{live_tournament.id}/"
    first = await EventStream.open(sse_server, path)
    assert first.status == 200
    await first.wait_until(lambda: first.events, "the snapshot")
    snapshot_id, snapshot = first.events[0]
    assert snapshot["type"] == "snapshot" and snapshot["data"]["tournament"]["id"] == live_tournament.id
    assert snapshot_id.startswith(snapshot["data"]["tournament"]["epoch"] + ":")
    assert await viewers(sse_server, live_tournament.id) == 1  # a stream counts as a spectator

    await post_score(sse_server, organizer.api_token, match.id, 1)
    await first.wait_until(lambda: scores_of(first, match.id) == [1], "the live score")
    await first.wait_until(lambda: first.heartbeats > 0, "a heartbeat")
    left_at = first.last_id()
    watcher = await EventStream.open(sse_server, path)  # stays: each score is published before the next
    await first.close()
    for p1 in (2, 3, 4):  # while it is away
        await post_score(sse_server, organizer.api_token, match.id, p1)
        await watcher.wait_until(lambda p1=p1: scores_of(watcher, match.id)[-1:] == [p1], f"score {p1} published")
    await watcher.close()

    back = await EventStream.open(sse_server, path, last_event_id=left_at)
    await back.wait_until(lambda: scores_of(back, match.id)[-1:] == [4], "what it missed")
    resumed = back.events[0][1]
    assert resumed["type"] == "resumed" and resumed["data"]["replayed"] >= 3
    assert scores_of(back, match.id)[:3] == [2, 3, 4]  # exactly what it missed, in order
    assert scores_of(back, match.id) == sorted(set(scores_of(back, match.id)))  # in order, none twice
    assert 1 not in scores_of(back, match.id)  # nothing it had seen
    await post_score(sse_server, organizer.api_token, match.id, 5)  # and live again
    await back.wait_until(lambda: scores_of(back, match.id)[-1:] == [5], "live after resuming")
    await back.close()

    deadline = asyncio.get_running_loop().time() + 10
    while await viewers(sse_server, live_tournament.id) != 0:  # a stream that closed stops counting
        assert asyncio.get_running_loop().time() < deadline, "a closed stream is still counted"
        await asyncio.sleep(0.1)  # polling the API with a deadline: a count has no event to wait for

    stale = await EventStream.open(sse_server, path, last_event_id="another-epoch:1-0")
    await stale.wait_until(lambda: stale.events, "a fresh snapshot")
    assert stale.events[0][1]["type"] == "snapshot" and stale.events[0][1]["data"]["resume_failed"] is True
    await stale.close()


async def test_a_match_stream_follows_its_match_only_and_hidden_rooms_are_not_found(
    sse_server, live_tournament, organizer
):
    match = await sync_to_async(first_live_match)(live_tournament)
    stream = await EventStream.open(sse_server, f"/sse/match/{match.id}/")
    await stream.wait_until(lambda: stream.events, "the snapshot")
    assert stream.events[0][1]["data"]["match"]["id"] == match.id
    await post_score(sse_server, organizer.api_token, match.id, 7)
    await stream.wait_until(lambda: scores_of(stream, match.id) == [7], "its score")
    assert all(f["data"].get("match_id") == match.id for f in stream.frames()[1:])
    await stream.close()

    private = await sync_to_async(factories.tournament)(organizer, 2, visibility=Tournament.Visibility.PRIVATE)
    for path in (f"/sse/tournament/{private.id}/", "/sse/tournament/999999/", "/sse/match/999999/"):
        refused = await EventStream.open(sse_server, path)
        assert refused.status == 404, path
        await refused.close()
