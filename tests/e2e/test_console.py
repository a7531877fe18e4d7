"""The console in a real browser (Debian's Chromium driven by Playwright) against the real stack:
organizers and referees log in, build a tournament and score matches from a phone, while
spectators' live pages and the other officials' screens follow."""

from __future__ import annotations

import asyncio
import re

import pytest
from asgiref.sync import sync_to_async
from playwright.async_api import expect

from tests.harness import factories
from tests.harness.browser import ARTIFACTS
from tests.harness.people import PASSWORD, PHONE, log_in, official, open_scoring_screen, user
from tests.harness.polling import until
from tests.harness.processes import ROOT
from tournaments import services
from tournaments.models import Match

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]

SCREENSHOT = ROOT / "docs" / "console-phone.png"
SECOND = 1000  # ms: how soon every screen must show a tap


def first_round(tournament_id: int) -> list[Match]:
    return list(Match.objects.filter(tournament_id=tournament_id, round=1).order_by("position"))


def second_round_match(match: Match) -> Match:
    return Match.objects.get(tournament_id=match.tournament_id, round=2, position=match.position // 2)


def score_cell(page, match_id: int, slot: int):
    """A match's score of one side on the live page or the console's tournament page."""
    return page.locator(f'[data-match-id="{match_id}"] .row').nth(slot - 1).locator(".score")


async def test_an_organizer_builds_a_tournament_and_referees_score_it_from_phones_while_spectators_follow(
    pages, asgi_server
):
    await sync_to_async(user)("olga", creates_tournaments=True)
    for referee in ("rita", "remy"):
        await sync_to_async(user)(referee)
    names = ["Aurora", "Blaze", "Cipher", "Dynamo", "Echo", "Falcon"]

    # The organizer logs in, creates a tournament of six, adds two referees, generates the bracket.
    organizer = await pages.open()
    await log_in(organizer, asgi_server, "olga")
    await organizer.fill("#new-name", "Phone Cup")
    await organizer.fill("#new-game", "Chess")
    await organizer.select_option("#new-visibility", "public")
    await organizer.fill("#new-participants", "\n".join(names) + "\n")
    await organizer.click("#new-tournament button[type=submit]")
    await expect(organizer).to_have_url(re.compile(r"/console/tournaments/\d+/$"), timeout=10_000)
    tournament_id = int(re.search(r"/tournaments/(\d+)/$", organizer.url).group(1))
    await expect(organizer.locator("#status")).to_have_text("live", timeout=10_000)
    await expect(organizer.locator("#participants li")).to_have_count(6)
    for referee in ("rita", "remy"):
        await organizer.fill("#official-username", referee)
        await organizer.click("#add-official button[type=submit]")
        await expect(organizer.locator("#officials")).to_contain_text(referee)
    await expect(organizer.locator("#add-official .error")).to_be_hidden()
    await organizer.click("#generate-bracket")
    await expect(organizer.locator("#matches li")).to_have_count(5)  # 2 first-round matches (2 byes), 2 semis, final
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await organizer.screenshot(path=ARTIFACTS / "console-tournament.png", full_page=True)
    match = (await sync_to_async(first_round)(tournament_id))[0]
    player1, player2 = await sync_to_async(lambda: (match.participant1.name, match.participant2.name))()

    # A spectator watches the public live page.
    spectator = await pages.open()
    await spectator.goto(f"{asgi_server.http_url}/tournaments/{tournament_id}/")
    await expect(spectator.locator("#status")).to_have_text("live", timeout=10_000)

    # The referee logs in on a phone and opens the match from the console.
    referee = await pages.open(**PHONE)
    await log_in(referee, asgi_server, "rita")
    await referee.get_by_role("link", name=re.compile("Phone Cup")).tap()
    await referee.locator(f'[data-match-id="{match.id}"] a').tap()
    await expect(referee).to_have_url(f"{asgi_server.http_url}/console/matches/{match.id}/")
    await expect(referee.locator("#status")).to_have_text("live", timeout=10_000)
    await expect(referee.locator("#name1")).to_have_text(player1)
    await expect(referee.locator("#name2")).to_have_text(player2)

    # A second referee follows the same match on another phone.
    second = await pages.open(**PHONE)
    await log_in(second, asgi_server, "remy")
    await open_scoring_screen(second, asgi_server, match.id)

    await referee.locator("#start").tap()
    await expect(referee.locator("#match-state")).to_have_text("live")
    card = spectator.locator(f'[data-match-id="{match.id}"]')
    await expect(card).to_have_class(re.compile(r"\blive\b"), timeout=SECOND)
    await expect(second.locator("#match-state")).to_have_text("live", timeout=SECOND)
    await expect(second.locator("#plus1")).to_be_enabled()

    for score in (1, 2, 3):
        await referee.locator("#plus1").tap()
        await expect(referee.locator("#score1")).to_have_text(str(score))
        await expect(score_cell(spectator, match.id, 1)).to_have_text(str(score), timeout=SECOND)
        await expect(second.locator("#score1")).to_have_text(str(score), timeout=SECOND)
    await expect(score_cell(spectator, match.id, 2)).to_have_text("0")
    await expect(score_cell(organizer, match.id, 1)).to_have_text("3", timeout=SECOND)  # the organizer's console too
    await expect(referee.locator("#pad-error")).to_be_hidden()

    await referee.screenshot(path=SCREENSHOT)
    await referee.screenshot(path=ARTIFACTS / "console-phone.png")

    # Completing asks for confirmation, showing the final score and the winner.
    await referee.locator("#complete").tap()
    await expect(referee.locator("#final-score")).to_have_text(f"{player1} 3 : 0 {player2}")
    await expect(referee.locator("#final-winner")).to_have_text(f"Winner: {player1}")
    await expect(referee.locator("#plus1")).to_be_disabled()
    await referee.screenshot(path=ARTIFACTS / "console-phone-confirm.png")
    await referee.locator("#confirm-complete-yes").tap()
    await expect(referee.locator("#match-state")).to_have_text("completed")
    await expect(referee.locator("#side1")).to_have_class("side winner")
    await expect(card).to_have_class(re.compile(r"\bcompleted\b"), timeout=SECOND)
    await expect(card.locator(".row.winner")).to_have_text(f"{player1}3", timeout=SECOND)
    semi = await sync_to_async(second_round_match)(match)
    await expect(spectator.locator(f'[data-match-id="{semi.id}"]')).to_contain_text(player1, timeout=SECOND)
    await expect(organizer.locator(f'[data-match-id="{semi.id}"]')).to_contain_text(player1, timeout=SECOND)
    await expect(second.locator("#match-state")).to_have_text("completed", timeout=SECOND)
    await expect(second.locator("#plus1")).to_be_disabled()

    assert pages.violations == []


async def test_a_stale_screen_shows_the_refusal_inline_keeps_scoring_while_reconnecting_and_catches_up(
    pages, asgi_server
):
    organizer = await sync_to_async(factories.user_with_token)("stale-organizer")
    tournament = await sync_to_async(factories.tournament)(organizer, 6, live=0)
    await sync_to_async(official)(tournament, "stale-referee")
    match = (await sync_to_async(first_round)(tournament.id))[0]

    # The referee's phone cannot reach the match room: every socket it opens is closed at once.
    referee = await pages.open(**PHONE)
    blocked = True

    async def rooms(socket):
        if blocked:
            await socket.close(code=1011, reason="test: no live feed")
        else:
            socket.connect_to_server()

    await referee.route_web_socket(re.compile(r"/ws/"), rooms)
    await log_in(referee, asgi_server, "stale-referee")
    await referee.goto(f"{asgi_server.http_url}/console/matches/{match.id}/")
    await expect(referee.locator("#status")).to_have_text("reconnecting…", timeout=10_000)
    await expect(referee.locator("#reconnecting")).to_be_visible()
    await expect(referee.locator("#start")).to_be_visible()

    # Someone else starts the match; this screen does not know. Its Start is refused, in words, next to it.
    await sync_to_async(services.start_match)(match_id=match.id)
    await referee.locator("#start").tap()
    error = referee.locator("#start-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("Refused")
    await expect(error).to_contain_text("live")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await referee.screenshot(path=ARTIFACTS / "console-phone-refused.png")
    # ... and it reads the match again at once: live, scoring enabled, though the socket is still down.
    await expect(referee.locator("#match-state")).to_have_text("live")
    await expect(referee.locator("#start")).to_be_hidden()

    # Taps still count while the socket is down: spectators get them.
    spectator = await pages.open()
    await spectator.goto(f"{asgi_server.http_url}/tournaments/{tournament.id}/")
    await expect(spectator.locator("#status")).to_have_text("live", timeout=10_000)
    for _ in range(2):
        await referee.locator("#plus2").tap()
        await referee.locator("#plus1").tap()
    await expect(referee.locator("#score1")).to_have_text("2")
    await expect(referee.locator("#score2")).to_have_text("2")
    await expect(score_cell(spectator, match.id, 1)).to_have_text("2", timeout=5000)
    await expect(score_cell(spectator, match.id, 2)).to_have_text("2")
    await expect(referee.locator("#pad-error")).to_be_hidden()

    # A tie cannot be confirmed as a final score.
    await referee.locator("#complete").tap()
    await expect(referee.locator("#final-tie")).to_be_visible()
    await expect(referee.locator("#confirm-complete-yes")).to_be_disabled()
    await referee.locator("#confirm-complete-no").tap()
    await expect(referee.locator("#plus1")).to_be_enabled()

    # The socket comes back: the screen says so and follows the match room again.
    blocked = False
    await expect(referee.locator("#status")).to_have_text("live", timeout=10_000)
    await expect(referee.locator("#reconnecting")).to_be_hidden()
    await sync_to_async(services.update_score)(match_id=match.id, participant1_score=5, participant2_score=2)
    await expect(referee.locator("#score1")).to_have_text("5", timeout=SECOND)
    assert pages.violations == []


async def test_a_burst_of_taps_ends_on_the_same_score_on_every_screen(pages, asgi_server):
    organizer = await sync_to_async(factories.user_with_token)("burst-organizer")
    tournament = await sync_to_async(factories.tournament)(organizer, 4)
    for username in ("burst-1", "burst-2"):
        await sync_to_async(official)(tournament, username)
    match = await sync_to_async(factories.first_live_match)(tournament)
    screens = []
    for username in ("burst-1", "burst-2"):
        screen = await pages.open(**PHONE)
        await log_in(screen, asgi_server, username)
        await open_scoring_screen(screen, asgi_server, match.id)
        screens.append(screen)
    tapping, watching = screens

    # Taps faster than the server answers: one request in flight, the latest score wins.
    for _ in range(8):
        await tapping.locator("#plus2").tap()
    await tapping.locator("#minus2").tap()
    await expect(tapping.locator("#score2")).to_have_text("7")
    # Both screens passed through 7 on the way up: the end is when the server holds the last tap.
    stored = sync_to_async(lambda: Match.objects.get(pk=match.id).participant2_score)
    await until(stored, 7, timeout=10, what="the stored score")
    await expect(watching.locator("#score2")).to_have_text("7", timeout=5000)
    await expect(tapping.locator("#score2")).to_have_text("7")
    assert pages.violations == []


async def test_two_referees_tapping_different_sides_at_once_both_count(pages, asgi_server):
    organizer = await sync_to_async(factories.user_with_token)("pair-organizer")
    tournament = await sync_to_async(factories.tournament)(organizer, 4)
    for username in ("pair-1", "pair-2"):
        await sync_to_async(official)(tournament, username)
    match = await sync_to_async(factories.first_live_match)(tournament)
    screens = []
    for username in ("pair-1", "pair-2"):
        screen = await pages.open(**PHONE)
        await log_in(screen, asgi_server, username)
        await open_scoring_screen(screen, asgi_server, match.id)
        screens.append(screen)
    first, second = screens

    async def tap(screen, button: str, times: int) -> None:
        for _ in range(times):
            await screen.locator(button).tap()

    await asyncio.gather(tap(first, "#plus1", 5), tap(second, "#plus2", 4))
    for screen in screens:
        await expect(screen.locator("#score1")).to_have_text("5", timeout=5000)
        await expect(screen.locator("#score2")).to_have_text("4", timeout=5000)
    # ...and the database catches up within a save interval.
    stored = sync_to_async(
        lambda: Match.objects.values_list("participant1_score", "participant2_score").get(pk=match.id)
    )
    await until(stored, (5, 4), timeout=10, what="the stored score")
    assert pages.violations == []


async def test_a_referee_opens_a_dispute_and_an_organizer_resolves_it_with_a_correction(pages, asgi_server):
    organizer = await sync_to_async(factories.user_with_token)("dispute-organizer")
    tournament = await sync_to_async(factories.tournament)(organizer, 4)
    await sync_to_async(lambda: (organizer.set_password(PASSWORD), organizer.save()))()
    await sync_to_async(official)(tournament, "dispute-referee")
    match = await sync_to_async(factories.first_live_match)(tournament)
    await sync_to_async(services.update_score)(match_id=match.id, participant1_score=2, participant2_score=1)

    referee = await pages.open(**PHONE)
    await log_in(referee, asgi_server, "dispute-referee")
    await open_scoring_screen(referee, asgi_server, match.id)
    await expect(referee.locator("#score1")).to_have_text("2")
    await referee.locator("#dispute-control summary").tap()
    await referee.fill("#dispute-reason-input", "Scored after the whistle")
    await referee.locator("#open-dispute button[type=submit]").tap()
    await expect(referee.locator("#match-state")).to_have_text("disputed")
    await expect(referee.locator("#dispute-info")).to_contain_text("Scored after the whistle")
    await expect(referee.locator("#plus1")).to_be_disabled()

    # The organizer opens the screen after the dispute: it knows the dispute from the server.
    boss = await pages.open(**PHONE)
    await log_in(boss, asgi_server, "dispute-organizer")
    await open_scoring_screen(boss, asgi_server, match.id)
    await expect(boss.locator("#dispute-info")).to_contain_text("Scored after the whistle")
    await expect(boss.locator("#resolve-unknown")).to_be_hidden()
    await boss.fill("#resolution-input", "Goal disallowed")
    await boss.locator("input[name=outcome][value=correct]").check()
    await boss.fill("input[name=participant1_score]", "1")
    await boss.fill("input[name=participant2_score]", "1")
    await boss.locator("#resolve-dispute button[type=submit]").tap()
    for screen in (boss, referee):
        await expect(screen.locator("#match-state")).to_have_text("live", timeout=SECOND)
        await expect(screen.locator("#score1")).to_have_text("1", timeout=SECOND)
        await expect(screen.locator("#score2")).to_have_text("1")
        await expect(screen.locator("#resolve-control")).to_be_hidden()
    await expect(boss.locator("#resolve-error")).to_be_hidden()
    assert pages.violations == []


def answer(status: int, body: dict):
    """A route handler answering every request with this status and body (and `Retry-After: 7`)."""

    async def fulfill(route):
        await route.fulfill(status=status, json=body, headers={"Retry-After": "7"})

    return fulfill


async def test_what_the_api_refuses_is_explained_next_to_the_control_and_a_retry_succeeds(pages, asgi_server):
    boss = await sync_to_async(factories.user_with_token)("errors-organizer")
    await sync_to_async(lambda: (boss.set_password(PASSWORD), boss.save()))()
    tournament = await sync_to_async(factories.tournament)(boss, 4, bracket=False)
    organizer = await pages.open(**PHONE)
    await log_in(organizer, asgi_server, "errors-organizer")
    await organizer.goto(f"{asgi_server.http_url}/console/tournaments/{tournament.id}/")
    await expect(organizer.locator("#status")).to_have_text("live", timeout=10_000)

    form, error = organizer.locator("#add-participants"), organizer.locator("#add-participants .error")
    await organizer.fill("#participant-names", "x" * 150)  # 400: longer than a name may be
    await form.locator("button[type=submit]").tap()
    await expect(error).to_contain_text("Not accepted")
    await organizer.fill("#participant-names", "P1")  # 409: the name is taken
    await form.locator("button[type=submit]").tap()
    await expect(error).to_contain_text("Refused")
    await organizer.fill("#participant-names", "P5\nP6")
    await form.locator("button[type=submit]").tap()
    await expect(form.locator(".ok")).to_have_text("Added 2 participants.")
    await expect(error).to_be_hidden()
    await expect(organizer.locator("#participants li")).to_have_count(6)
    await organizer.fill("#official-username", "no-such-user")  # 400: no such user
    await organizer.locator("#add-official button[type=submit]").tap()
    await expect(organizer.locator("#add-official .error")).to_contain_text("Not accepted")
    await organizer.locator("#generate-bracket").tap()
    await expect(organizer.locator("#matches li")).to_have_count(5)

    match = (await sync_to_async(first_round)(tournament.id))[0]
    await sync_to_async(services.start_match)(match_id=match.id)
    await open_scoring_screen(organizer, asgi_server, match.id)
    score_path = re.compile(rf"/api/matches/{match.id}/score/adjust/$")
    pad_error = organizer.locator("#pad-error")
    for status, body, words in (
        (503, {"error": {"code": "unavailable", "message": "Redis is down."}}, "retrying is safe"),
        (429, {"error": {"code": "throttled", "message": "Slow down."}}, "try again in 7 s"),
    ):
        await organizer.route(score_path, answer(status, body))
        await organizer.locator("#plus1").tap()
        await expect(pad_error).to_contain_text(words)
        await expect(organizer.locator("#score1")).to_have_text("0")  # not saved: the screen says what is
        await organizer.unroute(score_path)
    await organizer.locator("#plus1").tap()  # the retry
    await expect(organizer.locator("#score1")).to_have_text("1")
    await expect(pad_error).to_be_hidden()
    spectator = await pages.open()
    await spectator.goto(f"{asgi_server.http_url}/tournaments/{tournament.id}/")
    await expect(score_cell(spectator, match.id, 1)).to_have_text("1", timeout=10_000)
    assert pages.violations == []


async def test_only_officials_reach_the_console_and_a_failed_login_says_so(pages, asgi_server, live_tournament):
    match = await sync_to_async(factories.first_live_match)(live_tournament)
    await sync_to_async(user)("nobody")
    page = await pages.open(**PHONE)

    await page.goto(f"{asgi_server.http_url}/console/")
    await expect(page).to_have_url(f"{asgi_server.http_url}/accounts/login/?next=/console/")
    await page.fill("#id_username", "nobody")
    await page.fill("#id_password", "not-the-password")
    await page.click("button[type=submit]")
    await expect(page.locator(".error")).to_contain_text("correct username and password")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "console-login.png")

    await log_in(page, asgi_server, "nobody")
    await expect(page.locator(".console-list")).to_contain_text("no tournament yet")
    await expect(page.locator("#new-tournament")).to_have_count(0)  # may not create tournaments
    for path in (f"/console/tournaments/{live_tournament.id}/", f"/console/matches/{match.id}/"):
        response = await page.goto(f"{asgi_server.http_url}{path}")
        assert response.status == 404, path

    await page.goto(f"{asgi_server.http_url}/console/")
    await page.click(".console-nav button")  # log out
    await expect(page).to_have_url(f"{asgi_server.http_url}/accounts/login/")
    response = await page.goto(f"{asgi_server.http_url}/console/matches/{match.id}/")
    assert response.url.startswith(f"{asgi_server.http_url}/accounts/login/")
    assert pages.violations == []
