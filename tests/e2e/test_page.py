"""The live page in a real browser (Debian's Chromium driven by Playwright) against the real stack."""

from __future__ import annotations

import time

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from playwright.async_api import expect

from tests.harness.browser import ARTIFACTS
from tests.harness.factories import first_live_match
from tests.harness.processes import AsgiServer
from tournaments import services
from tournaments.models import Match

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


@pytest.fixture
async def page(browser):
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    yield page
    await context.close()


def score_cell(page, match: Match, slot: int):
    return page.locator(f'[data-match-id="{match.id}"] .row').nth(slot - 1).locator(".score")


async def post(server: AsgiServer, token: str, path: str, body: dict | None = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.http_url, headers={"Authorization": f"Token {token}"}) as client:
        return await client.post(path, json=body)


async def open_live_page(page, server: AsgiServer, tournament_id: int) -> None:
    await page.goto(f"{server.http_url}/tournaments/{tournament_id}/")
    await expect(page.locator("#status")).to_have_text("live", timeout=10_000)


async def test_the_page_draws_the_bracket_and_shows_a_posted_score_within_a_second(
    page, asgi_server, live_tournament, organizer
):
    await open_live_page(page, asgi_server, live_tournament.id)
    await expect(page.locator(".round")).to_have_count(3)
    await expect(page.locator(".round h2")).to_have_text(["Quarter-finals", "Semi-finals", "Final"])
    await expect(page.locator(".match")).to_have_count(7)
    await expect(page.locator(".match.live")).to_have_count(4)
    match = await sync_to_async(first_live_match)(live_tournament)
    await expect(page.locator(f'[data-match-id="{match.id}"]')).to_contain_text("P1")

    posted = time.monotonic()
    response = await post(asgi_server, organizer.api_token, f"/api/matches/{match.id}/score/",
                          {"participant1_score": 3, "participant2_score": 1})  # fmt: skip
    assert response.status_code == 202
    await expect(score_cell(page, match, 1)).to_have_text("3", timeout=1000)
    await expect(score_cell(page, match, 2)).to_have_text("1")
    assert time.monotonic() - posted < 1.0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "live-page.png", full_page=True)


async def test_a_burst_of_posts_ends_showing_the_last_score(page, asgi_server, live_tournament, organizer):
    await open_live_page(page, asgi_server, live_tournament.id)
    match = await sync_to_async(first_live_match)(live_tournament)
    for score in range(1, 51):
        response = await post(asgi_server, organizer.api_token, f"/api/matches/{match.id}/score/",
                              {"participant1_score": score, "participant2_score": 0})  # fmt: skip
        assert response.status_code == 202
    await expect(score_cell(page, match, 1)).to_have_text("50", timeout=5000)


async def test_a_completed_match_shows_the_winner_advanced(page, asgi_server, live_tournament, organizer):
    await open_live_page(page, asgi_server, live_tournament.id)
    match = await sync_to_async(first_live_match)(live_tournament)
    response = await post(asgi_server, organizer.api_token, f"/api/matches/{match.id}/complete/",
                          {"participant1_score": 1, "participant2_score": 4})  # fmt: skip
    assert response.status_code == 200
    winner = await sync_to_async(lambda: Match.objects.get(pk=match.id).winner.name)()
    card = page.locator(f'[data-match-id="{match.id}"]')
    await expect(card).to_have_class("match completed")
    await expect(card.locator(".row.winner")).to_have_text(f"{winner}4")
    semi = page.locator(".round").nth(1).locator(".match").first
    await expect(semi).to_contain_text(winner)


async def test_the_page_reconnects_after_a_server_restart_and_shows_what_it_missed(
    page, server_env, live_tournament, organizer
):
    server = AsgiServer(server_env)
    try:
        await open_live_page(page, server, live_tournament.id)
        match = await sync_to_async(first_live_match)(live_tournament)
        server.stop()
        await expect(page.locator("#status")).not_to_have_text("live", timeout=10_000)
        # scores keep coming (another web process would take them) while this one is down
        await sync_to_async(services.update_score)(match_id=match.id, participant1_score=7, participant2_score=5)
        server = AsgiServer(server_env, port=server.port)
        await expect(page.locator("#status")).to_have_text("live", timeout=20_000)
        await expect(score_cell(page, match, 1)).to_have_text("7")
        await expect(score_cell(page, match, 2)).to_have_text("5")
        # it resumed from the sequences it had seen rather than reloading everything
        await expect(page.locator("body")).to_have_attribute("data-sync", "resumed")
    finally:
        server.stop()


async def test_a_score_patches_its_own_card_and_leaves_the_other_cards_untouched(page, asgi_server, live_tournament):
    await open_live_page(page, asgi_server, live_tournament.id)
    updated, other = await sync_to_async(lambda: list(live_tournament.matches.filter(state="live")[:2]))()
    await sync_to_async(services.update_score)(match_id=other.id, participant1_score=2, participant2_score=0)
    await expect(score_cell(page, other, 1)).to_have_text("2", timeout=5000)
    # Remember both cards as DOM nodes: a rebuilt bracket would replace them with fresh ones.
    await page.evaluate(
        """ids => { window.cardsBefore = ids.map(id => {
            const card = document.querySelector(`[data-match-id="${id}"]`);
            card.__tag = id;
            return card;
        }); }""",
        [updated.id, other.id],
    )

    await sync_to_async(services.update_score)(match_id=updated.id, participant1_score=5, participant2_score=3)
    await expect(score_cell(page, updated, 1)).to_have_text("5", timeout=5000)
    await expect(score_cell(page, updated, 2)).to_have_text("3")

    still_the_same = await page.evaluate(
        """ids => ids.map((id, i) => {
            const card = document.querySelector(`[data-match-id="${id}"]`);
            return card === window.cardsBefore[i] && card.__tag === id;
        })""",
        [updated.id, other.id],
    )
    assert still_the_same == [True, True]
    await expect(score_cell(page, other, 1)).to_have_text("2")
    await expect(score_cell(page, other, 2)).to_have_text("0")
    await expect(page.locator(".match")).to_have_count(7)


async def test_the_live_page_and_the_admin_work_under_the_content_security_policy(page, asgi_server, live_tournament):
    """The policy allows only the site's own scripts and styles: nothing the pages need may be refused."""
    await sync_to_async(get_user_model().objects.create_superuser)("csp-admin", password="a-long-password-7")
    violations = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security" in message.text else None)
    await open_live_page(page, asgi_server, live_tournament.id)
    await expect(page.locator("article.match")).to_have_count(7)
    await page.goto(f"{asgi_server.http_url}/admin/login/")
    await page.fill("#id_username", "csp-admin")
    await page.fill("#id_password", "a-long-password-7")
    await page.click("input[type=submit]")
    await expect(page.locator("#site-name")).to_be_visible()
    for path in (
        "tournaments/tournament/",
        f"tournaments/tournament/{live_tournament.id}/change/",
        "tournaments/match/",
    ):
        await page.goto(f"{asgi_server.http_url}/admin/{path}")
        await page.wait_for_load_state("networkidle")
    assert violations == []
