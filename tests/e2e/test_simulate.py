"""`manage.py simulate` plays the demo tournament to the end through the real API and ASGI server."""

from __future__ import annotations

import asyncio
import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.harness.spectators import Spectator, is_type

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


async def test_simulate_drives_the_demo_to_a_champion_with_every_event_on_the_socket(asgi_server):
    out = StringIO()
    await asyncio.to_thread(call_command, "seed_demo", "--json", stdout=out)
    demo = json.loads(out.getvalue())
    spectator = await Spectator.connect(asgi_server, f"ws/tournament/{demo['tournament_id']}/")
    await spectator.wait_for(is_type("snapshot"))

    progress = StringIO()
    await asyncio.to_thread(
        call_command, "simulate", "--url", asgi_server.http_url, "--rate", "20", "--match-seconds", "0.5",
        "--timeout", "60", "--seed", "1", stdout=progress,
    )  # fmt: skip

    champion = await spectator.wait_for(is_type("tournament_completed"))
    assert "wins Demo Cup" in progress.getvalue()
    for match_id in demo["match_ids"]:
        types = [f["type"] for f in spectator.match_frames(match_id)]
        assert types[0] == "match_started" and types[-1] == "match_completed", (match_id, types)
        assert "score_updated" in types
    final = max(demo["match_ids"])
    completed = [f for f in spectator.match_frames(final) if f["type"] == "match_completed"][0]
    assert completed["data"]["winner_id"] == champion["data"]["winner_id"]
    assert len(spectator.of_type("bracket_updated")) == 6
    await spectator.close()
