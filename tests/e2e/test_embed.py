"""Embedding on other sites, in a real browser: pages served from other origins (other ports of
127.0.0.1) frame the embed, or use live-client.js directly, and follow a live match; an origin that
is not configured is refused both (CSP frame-ancestors; the WebSocket handshake's Origin check)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from playwright.async_api import expect

from project.localredis import free_port
from tests.harness.factories import first_live_match
from tests.harness.processes import AsgiServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]

FRAMING, SCRIPTING, STRANGER = (free_port() for _ in range(3))


@contextmanager
def site(port: int, html: str) -> Iterator[str]:
    """Another origin: a plain HTTP server on `port` answering every GET with `html`."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def embedding_server(server_env):
    """The stack, configured to be framed by one site and scripted by another."""
    server = AsgiServer(
        {
            **server_env,
            "EMBED_ALLOWED_ORIGINS": f"http://127.0.0.1:{FRAMING}",
            "WEBSOCKET_ALLOWED_ORIGINS": f"http://127.0.0.1:{SCRIPTING}",
        }
    )
    yield server
    server.stop()


def iframe_page(server: AsgiServer, tournament_id: int) -> str:
    embed = f"{server.http_url}/embed/tournaments/{tournament_id}/?theme=light"
    return f'<!doctype html><iframe src="{embed}" width="1000" height="600"></iframe>'


def script_page(server: AsgiServer, tournament_id: int) -> str:
    ws = server.http_url.replace("http://", "ws://")
    return f"""<!doctype html><p id="status">connecting</p><p id="score"></p>
<script src="{server.http_url}/static/tournaments/live-client.js"></script>
<script>
  new LiveClient("{ws}/ws/tournament/{tournament_id}/", {{
    status: function (s) {{ document.getElementById("status").textContent = s; }},
    event: function (frame) {{
      var d = frame.data;
      if (frame.type === "score_updated")
        document.getElementById("score").textContent = d.participant1_score + ":" + d.participant2_score;
    }}
  }});
</script>"""


async def post_score(server: AsgiServer, token: str, match_id: int, p1: int, p2: int) -> None:
    async with httpx.AsyncClient(base_url=server.http_url, headers={"Authorization": f"Token {token}"}) as client:
        response = await client.post(
            f"/api/matches/{match_id}/score/", json={"participant1_score": p1, "participant2_score": p2}
        )
    assert response.status_code == 202, response.text


async def test_a_configured_site_frames_the_embed_another_scripts_the_client_and_a_stranger_gets_neither(
    browser, embedding_server, live_tournament, organizer
):
    match = await sync_to_async(first_live_match)(live_tournament)
    context = await browser.new_context()
    try:
        framing, scripting, stranger = [await context.new_page() for _ in range(3)]
        with (
            site(FRAMING, iframe_page(embedding_server, live_tournament.id)) as framing_url,
            site(SCRIPTING, script_page(embedding_server, live_tournament.id)) as scripting_url,
            site(STRANGER, iframe_page(embedding_server, live_tournament.id)
                 + script_page(embedding_server, live_tournament.id)) as stranger_url,
        ):  # fmt: skip
            await framing.goto(framing_url)
            embed = framing.frame_locator("iframe")
            await expect(embed.locator("#status")).to_have_text("live", timeout=10_000)
            await expect(embed.locator("body")).to_have_class("embed light")
            await scripting.goto(scripting_url)
            await expect(scripting.locator("#status")).to_have_text("live", timeout=10_000)

            refused = asyncio.get_running_loop().create_future()
            stranger.on(
                "console", lambda m: "frame-ancestors" in m.text and not refused.done() and refused.set_result(m.text)
            )
            await stranger.goto(stranger_url)
            await asyncio.wait_for(refused, 10)  # Chromium: "Refused to frame ... frame-ancestors ..."
            await expect(stranger.locator("#status")).to_have_text("offline", timeout=10_000)  # handshake refused

            await post_score(embedding_server, organizer.api_token, match.id, 4, 2)
            card = embed.locator(f'[data-match-id="{match.id}"]')
            await expect(card.locator(".score")).to_have_text(["4", "2"], timeout=5_000)
            await expect(scripting.locator("#score")).to_have_text("4:2", timeout=5_000)
            await expect(stranger.frame_locator("iframe").locator("#status")).to_have_count(0)
            await expect(stranger.locator("#score")).to_have_text("")
    finally:
        await context.close()


async def test_the_match_embed_shows_one_match_live(browser, embedding_server, live_tournament, organizer):
    match = await sync_to_async(first_live_match)(live_tournament)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        html = f'<!doctype html><iframe src="{embedding_server.http_url}/embed/matches/{match.id}/"></iframe>'
        with site(FRAMING, html) as url:
            await page.goto(url)
            embed = page.frame_locator("iframe")
            await expect(embed.locator("#status")).to_have_text("live", timeout=10_000)
            await expect(embed.locator(".match")).to_have_count(1)
            await post_score(embedding_server, organizer.api_token, match.id, 7, 5)
            await expect(embed.locator(".match .score")).to_have_text(["7", "5"], timeout=5_000)
            await expect(embed.locator("body")).to_have_class("embed dark")
    finally:
        await context.close()


def test_embeds_name_who_may_frame_them_and_every_other_page_refuses_to_be_framed(live_tournament, settings):
    settings.EMBED_ALLOWED_ORIGINS = ["https://partner.example", "http://127.0.0.1:8081"]
    client = Client()
    embed = client.get(f"/embed/tournaments/{live_tournament.id}/?theme=<script>")
    assert embed.status_code == 200 and "X-Frame-Options" not in embed.headers
    assert (
        "frame-ancestors 'self' https://partner.example http://127.0.0.1:8081"
        in embed.headers["Content-Security-Policy"]
    )
    assert 'class="embed dark"' in embed.content.decode()  # an unknown theme is the default one
    live = client.get(f"/tournaments/{live_tournament.id}/")
    assert (
        live.headers["X-Frame-Options"] == "DENY"
        and "frame-ancestors 'none'" in live.headers["Content-Security-Policy"]
    )
    assert client.get("/embed/tournaments/999999/").status_code == 404
    assert client.get("/embed/matches/999999/").status_code == 404
