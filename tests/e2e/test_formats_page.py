"""Each format played to its champion by `simulate` through the real API, watched on the live page in a
real browser from before the first match: a 16-player double elimination (upper and lower brackets, a
grand final) and four groups of four, then an 8-player single-elimination playoff (group tables kept
live, the playoff bracket filled once every group match is decided)."""

from __future__ import annotations

import asyncio
import json
from io import StringIO

import httpx
import pytest
from django.core.management import call_command
from playwright.async_api import expect

from tests.harness.browser import ARTIFACTS
from tests.harness.spectators import Spectator, is_type
from tournaments import groups

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


@pytest.fixture
async def page(browser):
    context = await browser.new_context(viewport={"width": 1600, "height": 900})
    page = await context.new_page()
    yield page
    await context.close()


async def seed_and_watch(server, page, demo_options: list[str]) -> tuple[dict, Spectator]:
    out = StringIO()
    await asyncio.to_thread(call_command, "seed_demo", "--json", *demo_options, stdout=out)
    demo = json.loads(out.getvalue())
    await page.goto(f"{server.http_url}/tournaments/{demo['tournament_id']}/")
    await expect(page.locator("#status")).to_have_text("live", timeout=10_000)
    spectator = await Spectator.connect(server, f"ws/tournament/{demo['tournament_id']}/")
    await spectator.wait_for(is_type("snapshot"))
    return demo, spectator


async def simulate(server, seed: int) -> str:
    progress = StringIO()
    await asyncio.to_thread(
        call_command, "simulate", "--url", server.http_url, "--rate", "20", "--game-seconds", "0.2",
        "--timeout", "180", "--seed", str(seed), stdout=progress,
    )  # fmt: skip
    return progress.getvalue()


async def document_of(server, tournament_id: int) -> dict:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        return (await client.get(f"/api/tournaments/{tournament_id}/")).json()


async def expect_champion(page, document: dict) -> None:
    names = {p["id"]: p["name"] for p in document["participants"]}
    assert document["tournament"]["status"] == "completed"
    await expect(page.locator("#champion")).to_contain_text(f"Champion: {names[document['tournament']['winner_id']]}")


async def test_a_sixteen_player_double_elimination_plays_live_to_its_champion(page, asgi_server):
    demo, spectator = await seed_and_watch(
        asgi_server, page, ["--format", "double_elimination", "--participants", "16", "--grand-final-reset"]
    )
    upper, lower = page.locator(".stage.upper"), page.locator(".stage.lower")
    await expect(upper.locator("> h2")).to_have_text("Upper bracket")
    await expect(upper.locator(".round h2")).to_have_text(
        ["Upper round 1", "Upper round 2", "Upper round 3", "Upper final", "Grand final", "Grand final reset"]
    )
    await expect(lower.locator(".round h2")).to_have_text([f"Lower round {r}" for r in range(1, 6)] + ["Lower final"])
    await expect(upper.locator(".match")).to_have_count(15 + 2)
    await expect(lower.locator(".match")).to_have_count(14)

    progress = await simulate(asgi_server, seed=3)
    await spectator.wait_for(is_type("tournament_completed"), timeout=30)
    document = await document_of(asgi_server, demo["tournament_id"])
    await expect_champion(page, document)
    assert "wins Demo Cup" in progress
    matches = document["matches"]
    (grand_final,) = [m for m in matches if m["bracket"] == "grand_final" and not m["reset_of_id"]]
    (reset,) = [m for m in matches if m["reset_of_id"]]
    lower_winner = grand_final["participant2_id"]
    if grand_final["winner_id"] == lower_winner:  # both have one loss: they play again
        assert reset["state"] == "completed" and document["tournament"]["winner_id"] == reset["winner_id"]
    else:
        assert reset["state"] == "cancelled" and document["tournament"]["winner_id"] == grand_final["winner_id"]
    # Nobody but the champion leaves with fewer than two losses, and nobody plays after their second.
    losses: dict[int, int] = {}
    for match in sorted((m for m in matches if m["state"] == "completed"), key=lambda m: m["id"]):
        for side in (match["participant1_id"], match["participant2_id"]):
            assert losses.get(side, 0) < 2, f"{side} played after a second loss"
        loser = match["participant2_id"] if match["winner_id"] == match["participant1_id"] else match["participant1_id"]
        losses[loser] = losses.get(loser, 0) + 1
    champion = document["tournament"]["winner_id"]
    assert losses.get(champion, 0) <= 1  # one, if they won the reset
    assert sorted(count for side, count in losses.items() if side != champion) == [2] * 15
    # Every card as the document has it: the page followed every frame.
    for match in matches:
        await expect(page.locator(f'[data-match-id="{match["id"]}"]')).to_have_class(f"match {match['state']}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "double-elimination.png", full_page=True)
    await spectator.close()


async def test_four_groups_of_four_then_an_eight_player_playoff_play_live_to_a_champion(page, browser, asgi_server):
    demo, spectator = await seed_and_watch(
        asgi_server, page,
        ["--format", "round_robin", "--participants", "16", "--groups", "4", "--playoffs", "single_elimination",
         "--advance", "2"],
    )  # fmt: skip
    tables = page.locator("section.group")
    await expect(tables).to_have_count(4)
    await expect(tables.locator("h2")).to_have_text(["Group A", "Group B", "Group C", "Group D"])
    await expect(tables.nth(0).locator("tbody tr")).to_have_count(4)
    await expect(tables.locator(".match")).to_have_count(4 * 6)
    playoffs = page.locator(".stage.single")
    await expect(playoffs.locator(".round h2")).to_have_text(["Quarter-finals", "Semi-finals", "Final"])
    await expect(playoffs.locator(".match .name").first).to_have_text("TBD")  # seeded once the groups are over

    progress = await simulate(asgi_server, seed=4)
    await spectator.wait_for(is_type("tournament_completed"), timeout=30)
    document = await document_of(asgi_server, demo["tournament_id"])
    await expect_champion(page, document)
    assert "wins Demo Cup" in progress
    names = {p["id"]: p["name"] for p in document["participants"]}

    # The tables on the page are the standings the API gives, every row of them, top two marked.
    standings = document["standings"]
    assert [len(g["standings"]) for g in standings] == [4] * 4
    for index, group in enumerate(standings):
        rows = tables.nth(index).locator("tbody tr")
        assert all(row["played"] == 3 for row in group["standings"])
        await expect(rows.locator("td:nth-child(2)")).to_have_text(
            [names[r["participant_id"]] for r in group["standings"]]
        )
        await expect(rows.locator("td:nth-child(4)")).to_have_text([str(r["wins"]) for r in group["standings"]])
        await expect(tables.nth(index).locator("tbody tr.advances")).to_have_count(2)
    # Standings frames followed each group match's completion, and the last one is what the API says.
    assert spectator.of_type("standings_updated")[-1]["data"]["groups"] == standings

    # The quarter-finals hold exactly the group winners and runners-up, seeded as the standings say.
    tops = [[row["participant_id"] for row in group["standings"]] for group in standings]
    seeds = groups.playoff_seeds(tops, 2)
    quarter_finals = [m for m in document["matches"] if m["bracket"] == "main" and m["round"] == 1]
    assert {p for m in quarter_finals for p in (m["participant1_id"], m["participant2_id"])} == set(seeds)
    assert {(seeds.index(m["participant1_id"]) + 1, seeds.index(m["participant2_id"]) + 1) for m in quarter_finals} == {
        (1, 8),
        (4, 5),
        (2, 7),
        (3, 6),
    }
    for match in quarter_finals:
        card = page.locator(f'[data-match-id="{match["id"]}"]')
        await expect(card.locator(".name")).to_have_text(
            [names[match["participant1_id"]], names[match["participant2_id"]]]
        )
    # Nobody eliminated in the groups played on.
    out = {row["participant_id"] for group in standings for row in group["standings"][2:]}
    assert not out & {
        p for m in document["matches"] if m["bracket"] != "group" for p in (m["participant1_id"], m["participant2_id"])
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "groups-then-playoffs.png", full_page=True)
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    small = await phone.new_page()
    await small.goto(f"{asgi_server.http_url}/tournaments/{demo['tournament_id']}/")
    await expect(small.locator("section.group")).to_have_count(4)
    width = await small.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the phone scrolls sideways ({width}px)"
    await small.screenshot(path=ARTIFACTS / "groups-phone.png", full_page=True)
    await phone.close()
    await spectator.close()
