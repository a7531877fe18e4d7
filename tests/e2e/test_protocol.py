"""The WebSocket protocol as a client sees it (docs/protocol.md): snapshot, ping, errors, access."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from realtime.tasks import flush_pending_batches
from tests.harness.factories import first_live_match
from tests.harness.spectators import Spectator, is_type
from tournaments import services
from tournaments.models import Match

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


async def test_snapshot_comes_first_with_state_and_sequences(asgi_server, live_tournament):
    match = await sync_to_async(lambda: live_tournament.matches.filter(state="live").first())()
    await sync_to_async(services.update_score)(match_id=match.id, participant1_score=4, participant2_score=2)
    await sync_to_async(flush_pending_batches)(0)  # published: the snapshot shows what clients were sent
    spectator = await Spectator.connect(asgi_server, f"ws/tournament/{live_tournament.id}/")
    snapshot = await spectator.wait_for(is_type("snapshot"))
    assert spectator.frames[0] is snapshot
    data = snapshot["data"]
    assert data["tournament"]["id"] == live_tournament.id
    assert data["tournament"]["sequence"] >= 1  # bracket_generated was published
    assert len(data["participants"]) == 8
    by_id = {m["id"]: m for m in data["matches"]}
    assert len(by_id) == 7
    assert (by_id[match.id]["participant1_score"], by_id[match.id]["participant2_score"]) == (4, 2)
    assert by_id[match.id]["sequence"] >= 1  # match_started
    await spectator.close()

    match_room = await Spectator.connect(asgi_server, f"ws/match/{match.id}/")
    snapshot = await match_room.wait_for(is_type("snapshot"))
    assert snapshot["data"]["match"]["id"] == match.id
    assert snapshot["data"]["match"]["state"] == "live"
    await match_room.close()


async def test_ping_pong_and_error_frames_keep_the_connection_open(asgi_server, live_tournament):
    spectator = await Spectator.connect(asgi_server, f"ws/tournament/{live_tournament.id}/")
    await spectator.wait_for(is_type("snapshot"))
    await spectator.send({"type": "ping"})
    await spectator.wait_for(is_type("pong"))
    for bad, code in [
        ("{not json", "bad_json"),
        ("[1, 2]", "bad_frame"),
        (json.dumps({"type": "subscribe_everything"}), "unknown_type"),
        (b"\x00\x01binary", "binary_unsupported"),
        ("x" * 10_000, "too_large"),
    ]:
        await spectator.send(bad)
        await spectator.wait_for(is_type("error", code=code))
    await spectator.send({"type": "ping"})
    await spectator.wait_for(lambda f: len(spectator.of_type("pong")) == 2)
    assert not spectator.closed.is_set()
    await spectator.close()


async def test_a_flooding_client_is_throttled_then_closed(asgi_server, live_tournament):
    spectator = await Spectator.connect(asgi_server, f"ws/tournament/{live_tournament.id}/")
    await spectator.wait_for(is_type("snapshot"))
    try:
        for _ in range(500):
            await spectator.send({"type": "ping"})
    except websockets.ConnectionClosed:
        pass
    await spectator.wait_for(is_type("error", code="rate_limited"))
    await spectator.closed.wait()
    assert spectator.close_code == 4429


async def test_unknown_rooms_close_with_4404(asgi_server):
    for path in ("ws/tournament/999999/", "ws/match/999999/"):
        spectator = await Spectator.connect(asgi_server, path)
        await spectator.closed.wait()
        assert spectator.close_code == 4404
        assert spectator.frames == []


async def test_private_tournaments_admit_members_only_and_look_missing_to_others(asgi_server, private_tournament):
    tournament, match, tokens = private_tournament
    for path in (f"ws/tournament/{tournament.id}/", f"ws/match/{match.id}/"):
        for headers in (None, {"Authorization": f"Token {tokens['outsider']}"}, {"Authorization": "Token not-a-real"}):
            spectator = await Spectator.connect(asgi_server, path, headers=headers)
            await spectator.closed.wait()
            assert spectator.close_code == 4404, (path, headers)  # the same as a room that does not exist
            assert spectator.frames == []
        for member in ("private-organizer", "player-a"):
            spectator = await Spectator.connect(asgi_server, path, headers={"Authorization": f"Token {tokens[member]}"})
            await spectator.wait_for(is_type("snapshot"))
            await spectator.close()


async def test_a_browser_session_cookie_admits_its_user_while_the_session_is_valid(asgi_server, private_tournament):
    """Browsers cannot send a token: their session cookie authenticates the socket (realtime/auth.py),
    checked as Django checks it: a session outlives no password change."""
    tournament, match, _ = private_tournament

    def session_cookie(username: str) -> dict:
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"}

    member, outsider = await sync_to_async(session_cookie)("player-a"), await sync_to_async(session_cookie)("outsider")
    for path in (f"ws/tournament/{tournament.id}/", f"ws/match/{match.id}/"):
        spectator = await Spectator.connect(asgi_server, path, headers=member)
        await spectator.wait_for(is_type("snapshot"))
        await spectator.close()
        for headers in (outsider, {"Cookie": f"{settings.SESSION_COOKIE_NAME}=not-a-session"}):
            spectator = await Spectator.connect(asgi_server, path, headers=headers)
            await spectator.closed.wait()
            assert spectator.close_code == 4404, (path, headers)

    def change_password() -> None:
        user = get_user_model().objects.get(username="player-a")
        user.set_password("a new one")
        user.save()

    await sync_to_async(change_password)()
    spectator = await Spectator.connect(asgi_server, f"ws/tournament/{tournament.id}/", headers=member)
    await spectator.closed.wait()
    assert spectator.close_code == 4404


async def test_a_foreign_origin_is_refused_at_the_handshake(asgi_server, live_tournament):
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            asgi_server.ws_url(f"ws/tournament/{live_tournament.id}/"), origin="https://evil.example"
        )
    assert refused.value.response.status_code == 403


async def test_spectators_cannot_change_anything_over_the_socket(asgi_server, live_tournament):
    match = await sync_to_async(lambda: live_tournament.matches.filter(state="live").first())()
    spectator = await Spectator.connect(asgi_server, f"ws/match/{match.id}/")
    await spectator.wait_for(is_type("snapshot"))
    await spectator.send({"type": "score_updated", "data": {"match_id": match.id, "participant1_score": 99}})
    await spectator.wait_for(is_type("error", code="unknown_type"))
    assert await sync_to_async(lambda: Match.objects.get(pk=match.id).participant1_score)() == 0
    await spectator.close()


async def test_making_a_tournament_private_closes_the_sockets_of_those_no_longer_allowed(
    asgi_server, organizer, live_tournament
):
    match = await sync_to_async(first_live_match)(live_tournament)
    anonymous = [
        await Spectator.connect(asgi_server, f"ws/tournament/{live_tournament.id}/"),
        await Spectator.connect(asgi_server, f"ws/match/{match.id}/"),
    ]
    member = await Spectator.connect(
        asgi_server, f"ws/tournament/{live_tournament.id}/", headers={"Authorization": f"Token {organizer.api_token}"}
    )
    for spectator in [*anonymous, member]:
        await spectator.wait_for(is_type("snapshot"))
    await sync_to_async(services.update_tournament)(tournament_id=live_tournament.id, visibility="private")
    for spectator in anonymous:
        await asyncio.wait_for(spectator.closed.wait(), 10)
        assert spectator.close_code == 4404
        assert spectator.of_type("tournament_updated") == []  # nothing more reached them
    updated = await member.wait_for(is_type("tournament_updated", visibility="private"))
    assert updated["data"]["name"] == live_tournament.name
    await sync_to_async(services.update_score)(match_id=match.id, participant1_score=1, participant2_score=0)
    await member.wait_for(is_type("score_updated", participant1_score=1))
    await member.close()
