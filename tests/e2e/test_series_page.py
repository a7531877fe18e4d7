"""Series, walkovers, a reopened result and the third-place match, in a real browser (Chromium driven by
Playwright) against the real stack: an organizer creates a best-of-3 tournament with a best-of-5 final
and a third-place match from the console, a referee ends games on a phone, game servers post through
the API, and a spectator's live page shows every series, game and walkover as it happens."""

from __future__ import annotations

import re

import httpx
import pytest
from asgiref.sync import sync_to_async
from playwright.async_api import expect
from rest_framework.authtoken.models import Token

from tests.harness import factories
from tests.harness.browser import ARTIFACTS
from tests.harness.people import PHONE, log_in, official, open_scoring_screen, user
from tournaments.models import Match, Participant, Tournament

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]

SECOND = 1000  # ms: how soon a spectator must see what happened


class Api:
    """The HTTP API as a game server uses it, with an organizer's token."""

    def __init__(self, server, token: str) -> None:
        self.client = httpx.AsyncClient(base_url=server.http_url, headers={"Authorization": f"Token {token}"})

    async def post(self, path: str, body: dict | None = None) -> dict:
        response = await self.client.post(path, json=body)
        assert response.is_success, (path, body, response.status_code, response.text)
        return response.json()

    async def play_game(self, match_id: int, game: int, score: tuple[int, int]) -> dict:
        """A live score of `game` on its way to `score`, then the game's end."""
        await self.post(f"/api/matches/{match_id}/score/", self.score(1, 0, game=game))
        return await self.post(f"/api/matches/{match_id}/games/complete/", self.score(*score, game=game))

    @staticmethod
    def score(participant1: int, participant2: int, *, game: int) -> dict:
        return {"participant1_score": participant1, "participant2_score": participant2, "game": game}

    async def close(self) -> None:
        await self.client.aclose()


@pytest.fixture
async def api(asgi_server):
    clients: list[Api] = []

    def open_api(token: str) -> Api:
        clients.append(Api(asgi_server, token))
        return clients[-1]

    yield open_api
    for client in clients:
        await client.close()


def card(page, match_id: int):
    return page.locator(f'[data-match-id="{match_id}"]')


def cell(page, match_id: int, slot: int, part: str):
    """One side's name, tag, series or score on a live page card."""
    return card(page, match_id).locator(".row").nth(slot - 1).locator(f".{part}")


def matches_of(tournament_id: int) -> dict[str, Match]:
    """semi1, semi2, final, third: the matches of a four-participant bracket with a third-place match."""
    matches = Match.objects.filter(tournament_id=tournament_id).select_related("participant1", "participant2")
    by_place = {(m.bracket, m.round, m.position): m for m in matches}
    return {
        "semi1": by_place[("main", 1, 0)],
        "semi2": by_place[("main", 1, 1)],
        "final": by_place[("main", 2, 0)],
        "third": by_place[("third_place", 2, 0)],
    }


def names_of(match: Match) -> tuple[str, str]:
    return match.participant1.name, match.participant2.name


async def shown_cards(page) -> list[str]:
    return await page.locator("article.match").all_inner_texts()


async def test_a_bo3_semi_final_and_a_bo5_final_play_live_through_the_console_the_api_and_the_live_page(
    pages, asgi_server, api
):
    organizer_user = await sync_to_async(user)("sera", creates_tournaments=True)
    organizer_token = await sync_to_async(lambda: Token.objects.create(user=organizer_user).key)()

    # The organizer creates the tournament from the console: matches best of 3, the final best of 5.
    organizer = await pages.open()
    await log_in(organizer, asgi_server, "sera")
    await organizer.fill("#new-name", "Series Cup")
    await organizer.fill("#new-game", "Valorant")
    await organizer.select_option("select[name=best_of]", "3")
    await organizer.select_option("select[name=final_best_of]", "5")
    await organizer.check("input[name=third_place_match]")
    await organizer.fill("#new-participants", "Aurora\nBlaze\nCipher\nDynamo\n")
    await organizer.click("#new-tournament button[type=submit]")
    await expect(organizer).to_have_url(re.compile(r"/console/tournaments/\d+/$"), timeout=10_000)
    tournament_id = int(re.search(r"/tournaments/(\d+)/$", organizer.url).group(1))
    await expect(organizer.locator("#status")).to_have_text("live", timeout=10_000)
    await organizer.click("#generate-bracket")
    await expect(organizer.locator("#matches li")).to_have_count(4)  # two semi-finals, the final, third place
    await sync_to_async(official)(await sync_to_async(Tournament.objects.get)(pk=tournament_id), "rhea")
    matches = await sync_to_async(matches_of)(tournament_id)
    semi1, semi2, final, third = matches["semi1"], matches["semi2"], matches["final"], matches["third"]
    a, b = names_of(semi1)
    c, d = names_of(semi2)
    game_server = api(organizer_token)

    spectator = await pages.open()
    await spectator.goto(f"{asgi_server.http_url}/tournaments/{tournament_id}/")
    await expect(spectator.locator("#status")).to_have_text("live", timeout=10_000)
    await expect(spectator.locator(".round h2")).to_have_text(["Semi-finals", "Final", "Third place"])
    await expect(card(spectator, semi1.id).locator(".state")).to_have_text("scheduled · Bo3")
    await expect(card(spectator, final.id).locator(".state")).to_have_text("scheduled · Bo5")

    # Semi-final 1, best of 3: the referee scores game 1 on a phone and ends it.
    referee = await pages.open(**PHONE)
    await log_in(referee, asgi_server, "rhea")
    await open_scoring_screen(referee, asgi_server, semi1.id)
    await referee.locator("#start").tap()
    await expect(referee.locator("#game-label")).to_have_text("Game 1 · best of 3")
    for _ in range(2):
        await referee.locator("#plus1").tap()
    await expect(cell(spectator, semi1.id, 1, "score")).to_have_text("2", timeout=SECOND)
    await expect(card(spectator, semi1.id).locator(".state")).to_have_text("live · game 1 · Bo3")
    await expect(referee.locator("#complete")).to_have_text("End game 1…")
    await referee.locator("#complete").tap()
    await expect(referee.locator("#final-label")).to_have_text("Game 1 final score")
    await expect(referee.locator("#final-winner")).to_have_text(f"Game to {a}: the series goes on at 1–0, game 2 next")
    await referee.locator("#confirm-complete-yes").tap()
    await expect(referee.locator("#game-label")).to_have_text("Game 2 · best of 3")
    await expect(referee.locator("#series-wins")).to_have_text("1–0")
    await expect(referee.locator("#score1")).to_have_text("0")
    await expect(referee.locator("#game-list li")).to_have_text(["2:0"])
    # The spectator sees the series at 1-0, game 1's score, and game 2 live at 0:0.
    await expect(cell(spectator, semi1.id, 1, "series")).to_have_text("1", timeout=SECOND)
    await expect(cell(spectator, semi1.id, 2, "series")).to_have_text("0")
    await expect(card(spectator, semi1.id).locator(".game")).to_have_text(["2–0"])
    await expect(card(spectator, semi1.id).locator(".state")).to_have_text("live · game 2 · Bo3")
    await expect(cell(spectator, semi1.id, 1, "score")).to_have_text("0")

    # Game 2 goes to the other side, through the API; the referee ends game 3 from the phone.
    await game_server.play_game(semi1.id, 2, (5, 7))
    await expect(cell(spectator, semi1.id, 2, "series")).to_have_text("1", timeout=SECOND)
    await expect(referee.locator("#series-wins")).to_have_text("1–1", timeout=SECOND)
    await referee.locator("#plus1").tap()
    await expect(referee.locator("#score1")).to_have_text("1")
    await referee.locator("#complete").tap()
    await expect(referee.locator("#final-winner")).to_have_text(f"Game and match to {a}: they win the series 2–1")
    await referee.screenshot(path=ARTIFACTS / "console-phone-series.png")
    await referee.locator("#confirm-complete-yes").tap()
    await expect(referee.locator("#match-state")).to_have_text("completed")
    await expect(card(spectator, semi1.id)).to_have_class(re.compile(r"\bcompleted\b"), timeout=SECOND)
    await expect(card(spectator, semi1.id).locator(".row.winner .name")).to_have_text(a)
    await expect(card(spectator, semi1.id).locator(".game")).to_have_text(["2–0", "5–7", "1–0"])
    await expect(cell(spectator, semi1.id, 1, "series")).to_have_text("2")
    await expect(cell(spectator, final.id, 1, "name")).to_have_text(a, timeout=SECOND)
    await expect(cell(spectator, third.id, 1, "name")).to_have_text(b, timeout=SECOND)

    # Semi-final 2: the organizer records a forfeit from the console; the spectator sees a walkover.
    organizer_match = await pages.open()
    await log_in(organizer_match, asgi_server, "sera")
    await open_scoring_screen(organizer_match, asgi_server, semi2.id)
    await organizer_match.locator("#forfeit-control summary").click()
    await expect(organizer_match.locator("#forfeit2")).to_have_text(f"{d} forfeits")
    await organizer_match.locator("#forfeit2").click()
    await expect(organizer_match.locator("#match-state")).to_have_text("completed · walkover")
    await expect(card(spectator, semi2.id).locator(".state")).to_have_text("completed · walkover · Bo3", timeout=SECOND)
    await expect(cell(spectator, semi2.id, 2, "tag")).to_have_text("forfeit")
    await expect(card(spectator, semi2.id).locator(".row.out .name")).to_have_text(d)
    await expect(cell(spectator, final.id, 2, "name")).to_have_text(c, timeout=SECOND)
    await expect(cell(spectator, third.id, 2, "name")).to_have_text(d, timeout=SECOND)

    # ...then reopens it (the final has not started): the walkover is undone everywhere.
    await organizer_match.locator("#reopen").click()
    await organizer_match.locator("#confirm-reopen-yes").click()
    await expect(organizer_match.locator("#match-state")).to_have_text("live")
    await expect(card(spectator, semi2.id).locator(".state")).to_have_text("live · game 1 · Bo3", timeout=SECOND)
    await expect(cell(spectator, semi2.id, 2, "tag")).to_have_text("")
    await expect(cell(spectator, final.id, 2, "name")).to_have_text("TBD", timeout=SECOND)
    await expect(cell(spectator, third.id, 2, "name")).to_have_text("TBD", timeout=SECOND)
    for game in (1, 2):
        await game_server.play_game(semi2.id, game, (3, 9))
    await expect(card(spectator, semi2.id).locator(".row.winner .name")).to_have_text(d, timeout=SECOND)
    await expect(cell(spectator, final.id, 2, "name")).to_have_text(d, timeout=SECOND)
    await expect(cell(spectator, third.id, 2, "name")).to_have_text(c, timeout=SECOND)
    # Once the final has started, the semi-final's result can no longer be reopened: the refusal is shown.
    await game_server.post(f"/api/matches/{final.id}/start/")
    await expect(organizer_match.locator("#match-state")).to_have_text("completed", timeout=SECOND)
    await organizer_match.locator("#reopen").click()
    await organizer_match.locator("#confirm-reopen-yes").click()
    await expect(organizer_match.locator("#reopen-error")).to_contain_text("started")
    await expect(organizer_match.locator("#match-state")).to_have_text("completed")

    # The best-of-5 final: a live game score on the card while it is played, the games as they end.
    await game_server.post(f"/api/matches/{final.id}/score/", Api.score(4, 2, game=1))
    await expect(cell(spectator, final.id, 1, "score")).to_have_text("4", timeout=SECOND)
    await expect(card(spectator, final.id).locator(".state")).to_have_text("live · game 1 · Bo5")
    for game, score in enumerate([(13, 7), (11, 13), (13, 4)], start=1):
        await game_server.play_game(final.id, game, score)
    await expect(cell(spectator, final.id, 1, "series")).to_have_text("2", timeout=SECOND)
    await expect(cell(spectator, final.id, 2, "series")).to_have_text("1")
    await expect(card(spectator, final.id).locator(".state")).to_have_text("live · game 4 · Bo5")
    # Meanwhile the third-place match, best of 3.
    await game_server.post(f"/api/matches/{third.id}/start/")
    for game in (1, 2):
        await game_server.play_game(third.id, game, (6, 2))
    await expect(card(spectator, third.id)).to_have_class(re.compile(r"\bcompleted\b"), timeout=SECOND)
    # The referee ends the final's fourth game from the phone: game, match and tournament.
    await open_scoring_screen(referee, asgi_server, final.id)
    await expect(referee.locator("#series-wins")).to_have_text("2–1")
    await referee.locator("#plus1").tap()
    await expect(referee.locator("#score1")).to_have_text("1")
    await referee.locator("#complete").tap()
    await expect(referee.locator("#final-winner")).to_have_text(f"Game and match to {a}: they win the series 3–1")
    await referee.locator("#confirm-complete-yes").tap()
    await expect(referee.locator("#match-state")).to_have_text("completed")
    champion = f"🏆 Champion: {a} · 🥉 Third place: {b}"
    await expect(spectator.locator("#champion")).to_have_text(champion, timeout=SECOND)
    await expect(organizer.locator("#champion")).to_have_text(champion, timeout=SECOND)
    await expect(card(spectator, final.id).locator(".game")).to_have_text(["13–7", "11–13", "13–4", "1–0"])
    await expect(card(spectator, final.id).locator(".state")).to_have_text("completed · Bo5")
    await spectator.screenshot(path=ARTIFACTS / "live-page-series.png", full_page=True)

    # What the page built from frames is exactly what a fresh page draws from the snapshot.
    patched = await shown_cards(spectator)
    await spectator.reload()
    await expect(spectator.locator("#status")).to_have_text("live", timeout=10_000)
    await expect(spectator.locator("#champion")).to_have_text(champion)
    assert await shown_cards(spectator) == patched
    assert pages.violations == []


async def test_an_organizer_disqualifies_a_participant_from_the_console_and_their_opponent_walks_over(
    pages, asgi_server
):
    organizer_user = await sync_to_async(user)("dora")
    tournament = await sync_to_async(factories.tournament)(organizer_user, 4, live=1)
    matches = await sync_to_async(matches_of_without_third)(tournament.id)
    semi1, final = matches
    p1, p4 = names_of(semi1)

    spectator = await pages.open()
    await spectator.goto(f"{asgi_server.http_url}/tournaments/{tournament.id}/")
    await expect(spectator.locator("#status")).to_have_text("live", timeout=10_000)

    organizer = await pages.open()
    await log_in(organizer, asgi_server, "dora")
    await organizer.goto(f"{asgi_server.http_url}/console/tournaments/{tournament.id}/")
    await expect(organizer.locator("#status")).to_have_text("live", timeout=10_000)
    participant = organizer.locator(f"#participants li:has-text('{p4}')")
    await participant.locator("button.disqualify").click()
    await expect(participant.locator("button.disqualify")).to_have_text(f"Confirm: disqualify {p4}")
    await participant.locator("button.disqualify").click()
    await expect(organizer.locator(f"#participants li:has-text('{p4}') .tag")).to_have_text("disqualified")
    await expect(organizer.locator(f"#participants li:has-text('{p4}') button")).to_have_count(0)

    # Their live match is a walkover: the opponent goes on to the final, the page marks them out.
    await expect(card(spectator, semi1.id).locator(".state")).to_have_text("completed · walkover", timeout=SECOND)
    await expect(cell(spectator, semi1.id, 2, "tag")).to_have_text("DQ")
    await expect(card(spectator, semi1.id).locator(".row.winner .name")).to_have_text(p1)
    await expect(cell(spectator, final.id, 1, "name")).to_have_text(p1, timeout=SECOND)
    out = await sync_to_async(Participant.objects.get)(tournament=tournament, name=p4)
    assert out.disqualified_at is not None
    assert pages.violations == []


def matches_of_without_third(tournament_id: int) -> tuple[Match, Match]:
    matches = Match.objects.filter(tournament_id=tournament_id).select_related("participant1", "participant2")
    by_place = {(m.round, m.position): m for m in matches}
    return by_place[(1, 0)], by_place[(2, 0)]
