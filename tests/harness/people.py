"""People at browsers, for the console and page tests: users who log in with a password, their
browser contexts (one per person, each with its own cookies), and the steps every test repeats."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.async_api import expect

from tournaments import services
from tournaments.models import Tournament, TournamentRole

PASSWORD = "a-long-password-7"
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


class Pages:
    """Browser contexts of one test (each its own cookies: one per person), closed after it; and
    every Content-Security-Policy violation any of their pages reported."""

    def __init__(self, browser) -> None:
        self.browser = browser
        self.contexts = []
        self.violations: list[str] = []

    async def open(self, **options):
        context = await self.browser.new_context(**(options or DESKTOP))
        self.contexts.append(context)
        page = await context.new_page()
        page.on("console", lambda m: self.violations.append(m.text) if "Content Security" in m.text else None)
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def pages(browser):
    opened = Pages(browser)
    yield opened
    await opened.close()


def user(username: str, *, creates_tournaments: bool = False):
    """A user who logs in with PASSWORD; optionally allowed to create tournaments."""
    created = get_user_model().objects.create_user(username, password=PASSWORD)
    if creates_tournaments:
        services.allow_to_create_tournaments(created)
    return created


def official(tournament: Tournament, username: str, role: str = TournamentRole.Role.REFEREE):
    """A user with a password and a role in `tournament`."""
    created = user(username)
    TournamentRole.objects.create(tournament=tournament, user=created, role=role)
    return created


async def log_in(page, server, username: str) -> None:
    await page.goto(f"{server.http_url}/accounts/login/")
    await page.fill("#id_username", username)
    await page.fill("#id_password", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{server.http_url}/console/")


async def open_scoring_screen(page, server, match_id: int) -> None:
    await page.goto(f"{server.http_url}/console/matches/{match_id}/")
    await expect(page.locator("#status")).to_have_text("live", timeout=10_000)
