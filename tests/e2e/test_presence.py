"""Spectator counts: up and down with connections across two ASGI processes, and
recovering by themselves when a process dies."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from realtime.store import presence
from realtime.store.keys import Room
from tests.harness.polling import until
from tests.harness.processes import AsgiServer
from tests.harness.spectators import Spectator, is_type

pytestmark = pytest.mark.django_db(transaction=True)

VIEWER_TTL_S = 1.5


def test_presence_members_expire_unless_refreshed():
    tournament, match, other_match = Room.tournament(1), Room.match(2), Room.match(3)
    presence.refresh([(tournament, "a"), (tournament, "b"), (match, "a")], ttl_ms=60_000)
    assert presence.counts([tournament, match, other_match]) == {tournament: 2, match: 1, other_match: 0}
    presence.leave(tournament, "a")
    presence.refresh([(match, "gone-soon")], ttl_ms=-1)  # already expired: a dead process
    assert presence.counts([tournament, match]) == {tournament: 1, match: 1}


def viewers(tournament_id: int) -> dict:
    return APIClient().get(f"/api/tournaments/{tournament_id}/").json()["viewers"]


async def wait_for_viewers(tournament_id: int, expected: dict, timeout: float = 10) -> None:
    """Until the API's counts are `expected` (they change by closes and by expiry)."""
    await until(lambda: sync_to_async(viewers)(tournament_id), expected, timeout=timeout, what="viewers")


async def test_counts_follow_connections_across_processes_and_recover_from_a_killed_one(server_env, live_tournament):
    env = {**server_env, "REALTIME_VIEWER_TTL_S": str(VIEWER_TTL_S)}
    first, second = AsgiServer(env), AsgiServer(env)
    try:
        match_id = await sync_to_async(lambda: live_tournament.matches.filter(state="live").first().id)()
        tournament_path = f"ws/tournament/{live_tournament.id}/"
        on_first = [await Spectator.connect(first, tournament_path) for _ in range(2)]
        on_second = [
            await Spectator.connect(second, tournament_path),
            await Spectator.connect(second, f"ws/match/{match_id}/"),
        ]
        for spectator in on_first + on_second:
            await spectator.wait_for(is_type("snapshot"))
        last = on_second[-1].frames[0]["data"]["viewers"]
        assert last["matches"] == {str(match_id): 1}  # the match room's snapshot counts itself

        counts = await sync_to_async(viewers)(live_tournament.id)
        assert counts["tournament"] == 3 and counts["matches"][str(match_id)] == 1
        # still counted after several refresh periods
        await asyncio.sleep(VIEWER_TTL_S * 2)  # outlive the TTL: refreshes must keep them (not an event wait)
        counts = await sync_to_async(viewers)(live_tournament.id)
        assert counts["tournament"] == 3

        await on_first[0].close()
        # The server handles the close just after the handshake ends: it leaves then, well within
        # one TTL (so not by expiry).
        after_close = {"tournament": 2, "matches": counts["matches"]}
        await wait_for_viewers(live_tournament.id, after_close, timeout=VIEWER_TTL_S / 2)

        second.process.kill()  # SIGKILL: nobody says goodbye for its two connections
        expected = {"tournament": 1, "matches": {str(m): 0 for m in counts["matches"]}}
        await wait_for_viewers(live_tournament.id, expected)
        await on_first[1].close()
    finally:
        first.stop()
        second.stop()
