"""`manage.py simulate` plays the demo tournament to the end through the real API and ASGI server."""

from __future__ import annotations

import asyncio
import json
from io import StringIO

import httpx
import pytest
from django.core.management import call_command

from tests.harness.spectators import Spectator, is_type

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


async def seed_and_simulate(
    server, demo_options: list[str], simulate_options: list[str]
) -> tuple[dict, Spectator, str]:
    """The demo seeded with `demo_options` and played to its end by simulate, a spectator watching
    from before the first match: (seed_demo's JSON, the spectator, what simulate printed)."""
    out = StringIO()
    await asyncio.to_thread(call_command, "seed_demo", "--json", *demo_options, stdout=out)
    demo = json.loads(out.getvalue())
    spectator = await Spectator.connect(server, f"ws/tournament/{demo['tournament_id']}/")
    await spectator.wait_for(is_type("snapshot"))
    progress = StringIO()
    await asyncio.to_thread(
        call_command, "simulate", "--url", server.http_url, "--rate", "20", *simulate_options, stdout=progress
    )
    return demo, spectator, progress.getvalue()


async def test_simulate_drives_the_demo_to_a_champion_with_every_event_on_the_socket(asgi_server):
    demo, spectator, progress = await seed_and_simulate(
        asgi_server, [], ["--match-seconds", "0.5", "--timeout", "60", "--seed", "1"]
    )

    champion = await spectator.wait_for(is_type("tournament_completed"))
    assert "wins Demo Cup" in progress
    for match_id in demo["match_ids"]:
        types = [f["type"] for f in spectator.match_frames(match_id)]
        assert types[0] == "match_started" and types[-1] == "match_completed", (match_id, types)
        assert "score_updated" in types
    final = max(demo["match_ids"])
    completed = [f for f in spectator.match_frames(final) if f["type"] == "match_completed"][0]
    assert completed["data"]["winner_id"] == champion["data"]["winner_id"]
    assert len(spectator.of_type("bracket_updated")) == 6
    await spectator.close()


async def test_simulate_plays_series_game_by_game_and_the_third_place_match(asgi_server):
    demo, spectator, progress = await seed_and_simulate(
        asgi_server,
        ["--best-of", "3", "--final-best-of", "5", "--third-place"],
        ["--game-seconds", "0.3", "--timeout", "90", "--seed", "2"],
    )

    podium = (await spectator.wait_for(is_type("tournament_completed")))["data"]
    async with httpx.AsyncClient(base_url=asgi_server.http_url, timeout=30) as client:
        document = (await client.get(f"/api/tournaments/{demo['tournament_id']}/")).json()
    tournament, matches = document["tournament"], document["matches"]
    names = {p["id"]: p["name"] for p in document["participants"]}
    assert tournament["status"] == "completed"
    assert f"🏆 {names[tournament['winner_id']]} wins Demo Cup" in progress
    assert f"🥉 {names[tournament['third_place_id']]} takes third place" in progress
    (final,) = [m for m in matches if m["bracket"] == "main" and m["round"] == max(m["round"] for m in matches)]
    (third,) = [m for m in matches if m["bracket"] == "third_place"]
    assert (podium["winner_id"], podium["third_place_id"]) == (final["winner_id"], third["winner_id"])
    assert (tournament["winner_id"], tournament["third_place_id"]) == (final["winner_id"], third["winner_id"])
    assert final["best_of"] == 5 and {m["best_of"] for m in matches if m is not final} == {3}
    assert len(matches) == 8 and sorted(m["id"] for m in matches) == sorted(demo["match_ids"])

    for match in matches:
        assert match["state"] == "completed" and not match["forfeit"], match
        games, needed = match["games"], match["best_of"] // 2 + 1
        sides = [match["participant1_id"], match["participant2_id"]]
        assert [game["number"] for game in games] == list(range(1, len(games) + 1)), match
        assert all(game["state"] == "completed" for game in games), match
        assert all(game["participant1_score"] != game["participant2_score"] for game in games), match
        for game in games:  # each game won by the side with more points
            higher = 0 if game["participant1_score"] > game["participant2_score"] else 1
            assert game["winner_id"] == sides[higher], (match["id"], game)
        wins = [sum(game["winner_id"] == side for game in games) for side in sides]
        assert wins == match["series"], match
        assert max(wins) == needed and min(wins) < needed, match  # the series stopped once it was won
        assert games[-1]["winner_id"] == match["winner_id"] == sides[wins.index(needed)], match
        assert match["game"] == len(games)

        frames = spectator.match_frames(match["id"])
        types = [frame["type"] for frame in frames]
        assert types[0] == "match_started" and types[-1] == "match_completed", (match["id"], types)
        completed_games = [frame["data"] for frame in frames if frame["type"] == "game_completed"]
        assert [(g["game"], g["participant1_score"], g["participant2_score"]) for g in completed_games] == [
            (g["number"], g["participant1_score"], g["participant2_score"]) for g in games
        ], match["id"]
        played = {frame["data"]["game"] for frame in frames if frame["type"] == "score_updated"}
        assert played <= {g["number"] for g in games}, (match["id"], played)
    await spectator.close()
