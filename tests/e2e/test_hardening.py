"""Hostile input against the real ASGI server: every answer is clean, nothing is dropped for bad
input, spectator counts are exact, origins are compared exactly, logins cannot be brute-forced.

Each test drives a real uvicorn process (the session's, or one of its own with other settings)
over real HTTP and WebSocket connections, with a real Redis behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import socket
import time
from urllib.parse import quote

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from tests.harness.factories import first_live_match
from tests.harness.polling import until
from tests.harness.processes import AsgiServer
from tests.harness.spectators import Spectator, is_type
from tournaments.models import Match

pytestmark = pytest.mark.django_db(transaction=True)


def deeply_nested(depth: int = 5000) -> str:
    return "[" * depth + "]" * depth


def envelope(response: httpx.Response) -> dict:
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"], body
    return body["error"]


async def viewers_of(server: AsgiServer, tournament_id: int) -> int:
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        return (await client.get(f"/api/tournaments/{tournament_id}/")).json()["viewers"]["tournament"]


async def wait_for_viewers(server: AsgiServer, tournament_id: int, expected: int, timeout: float) -> None:
    await until(lambda: viewers_of(server, tournament_id), expected, timeout=timeout, what="viewers")


# --- HTTP -------------------------------------------------------------------------------------------


async def test_pathological_bodies_get_the_error_envelope_on_every_write_endpoint(
    asgi_server, organizer, live_tournament
):
    match = await sync_to_async(first_live_match)(live_tournament)
    with_body = [f"/api/matches/{match.id}/{action}/" for action in ("score", "complete", "disputes")]
    with_body.append("/api/disputes/1/resolve/")
    without_body = [f"/api/matches/{match.id}/start/", f"/api/tournaments/{live_tournament.id}/bracket/"]
    headers = {"Authorization": f"Token {organizer.api_token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=asgi_server.http_url, headers=headers, timeout=30) as client:
        for path in with_body + without_body:
            huge = b'{"reason": "' + b"x" * 5_000_000 + b'"}'  # refused while it is still being sent
            status_line, _ = await asyncio.to_thread(
                raw_post, asgi_server, path, f"Content-Length: {len(huge)}\r\n", huge
            )
            assert status_line.startswith(b"HTTP/1.1 413"), path
            for garbage in (deeply_nested(), bytes(range(256))):
                answer = await client.post(path, content=garbage)
                if path in with_body:
                    assert answer.status_code == 400 and envelope(answer)["code"] == "parse_error", path
                else:  # the body is not read: the answer is the endpoint's own (409: wrong state)
                    assert answer.status_code == 409 and envelope(answer)["code"] == "conflict", path
    unchanged = await sync_to_async(Match.objects.get)(pk=match.id)
    assert (unchanged.state, unchanged.score_version) == ("live", 0)


def raw_post(server: AsgiServer, path: str, headers: str, body: bytes) -> tuple[bytes, float]:
    """A request written by hand (to lie about its length or stream it): the status line, and how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
            f"{headers}\r\n".encode()
        )
        with contextlib.suppress(OSError):  # the server may answer and close before the body is all sent
            connection.sendall(body)
        return connection.recv(100).split(b"\r\n")[0], time.monotonic() - started


async def test_an_oversized_body_is_refused_before_it_is_received(asgi_server, live_tournament):
    path = f"/api/matches/{live_tournament.id}/score/"
    promised = "Content-Length: 100000000\r\n"  # 100 MB promised, 1 MB sent: no waiting for the rest
    status_line, took = await asyncio.to_thread(raw_post, asgi_server, path, promised, b"x" * 1_000_000)
    assert status_line.startswith(b"HTTP/1.1 413") and took < 3
    chunk = b"%x\r\n%s\r\n" % (50_000, b"y" * 50_000)  # streamed without a length: refused past the limit
    status_line, took = await asyncio.to_thread(
        raw_post, asgi_server, path, "Transfer-Encoding: chunked\r\n", chunk * 40 + b"0\r\n\r\n"
    )
    assert status_line.startswith(b"HTTP/1.1 413") and took < 3


async def test_unknown_paths_methods_hosts_and_formats_answer_the_envelope(asgi_server, live_tournament):
    async with httpx.AsyncClient(base_url=asgi_server.http_url) as client:
        for path in ("/api/nope/", "/api/tournaments/abc/", "/api/matches/1/score/extra/", "/api/"):
            missing = await client.get(path)
            assert missing.status_code == 404 and envelope(missing)["code"] == "not_found", path
        unslashed = await client.post(f"/api/tournaments/{live_tournament.id}/bracket", json={})
        assert unslashed.status_code == 404 and "end with /" in envelope(unslashed)["message"]
        rot13 = await client.post(
            f"/api/tournaments/{live_tournament.id}/participants/",
            content=b'{"name": "x"}',
            headers={"Content-Type": "application/json; charset=rot13"},
        )
        assert rot13.status_code in (400, 401) and envelope(rot13)
        wrong_method = await client.put(f"/api/tournaments/{live_tournament.id}/")
        assert wrong_method.status_code == 405 and envelope(wrong_method)["code"] == "method_not_allowed"
        foreign_host = await client.get(f"/api/tournaments/{live_tournament.id}/", headers={"Host": "evil.example"})
        assert foreign_host.status_code == 400 and "DisallowedHost" not in foreign_host.text
        envelope(foreign_host)
        browsable = await client.get(f"/api/tournaments/{live_tournament.id}/?format=api")
        assert browsable.status_code == 200 and browsable.json()["tournament"]["id"] == live_tournament.id


async def test_a_private_tournament_looks_missing_to_outsiders(asgi_server, private_tournament):
    tournament, match, tokens = private_tournament
    auth = {"Authorization": f"Token {tokens['outsider']}"}
    async with httpx.AsyncClient(base_url=asgi_server.http_url, headers=auth) as client:
        for hidden, missing in (
            (f"/api/tournaments/{tournament.id}/", "/api/tournaments/987654/"),
            (f"/api/matches/{match.id}/start/", "/api/matches/987654/start/"),
        ):
            method = client.get if "tournaments" in hidden else client.post
            answers = [await method(path) for path in (hidden, missing)]
            assert [answer.status_code for answer in answers] == [404, 404]
            messages = [envelope(answer)["message"] for answer in answers]
            assert messages[0].replace(str(tournament.id), "N").replace(str(match.id), "N") == messages[1].replace(
                "987654", "N"
            )


async def test_text_fields_take_strings_only(asgi_server, organizer, live_tournament):
    match = await sync_to_async(first_live_match)(live_tournament)
    auth = {"Authorization": f"Token {organizer.api_token}"}
    async with httpx.AsyncClient(base_url=asgi_server.http_url, headers=auth) as client:
        for reason in (5, 1.5, True, ["lag"], {"text": "lag"}, None):
            refused = await client.post(f"/api/matches/{match.id}/disputes/", json={"reason": reason})
            assert refused.status_code == 400 and "reason" in envelope(refused)["details"], reason
    assert await sync_to_async(lambda: Match.objects.get(pk=match.id).state)() == "live"


async def test_pages_send_security_headers_and_no_server_banner(asgi_server, live_tournament):
    async with httpx.AsyncClient(base_url=asgi_server.http_url) as client:
        for path in ("/", f"/tournaments/{live_tournament.id}/", "/admin/login/"):
            page = await client.get(path)
            assert page.status_code == 200, path
            policy = page.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy
            assert "camera=()" in page.headers["permissions-policy"]
            assert "server" not in page.headers
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), (
                "an inline script would need the CSP relaxed"
            )
        api = await client.get(f"/api/tournaments/{live_tournament.id}/")
        assert "server" not in api.headers


async def test_bracket_regeneration_and_dispute_creation_are_throttled(server_env, organizer, live_tournament):
    server = AsgiServer({**server_env, "BRACKET_THROTTLE_RATE": "2/hour", "DISPUTE_THROTTLE_RATE": "1/hour"})
    try:
        match = await sync_to_async(first_live_match)(live_tournament)
        auth = {"Authorization": f"Token {organizer.api_token}"}
        async with httpx.AsyncClient(base_url=server.http_url, headers=auth) as client:
            bracket = f"/api/tournaments/{live_tournament.id}/bracket/"
            codes = [(await client.post(bracket)).status_code for _ in range(3)]
            assert codes == [409, 409, 429]  # refused by the rules (matches started), then by the throttle
            disputes = f"/api/matches/{match.id}/disputes/"
            assert (await client.post(disputes, json={"reason": "lag"})).status_code == 201
            throttled = await client.post(disputes, json={"reason": "more lag"})
            assert throttled.status_code == 429 and envelope(throttled)["code"] == "throttled"
            assert "retry-after" in throttled.headers
    finally:
        server.stop()


def login(server: AsgiServer, username: str, password: str, address: str) -> int:
    """One admin login from `address` (uvicorn believes X-Forwarded-For from 127.0.0.1, where tests run)."""
    with httpx.Client(base_url=server.http_url, headers={"X-Forwarded-For": address}) as client:
        page = client.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = client.post(
            "/admin/login/?next=/admin/",
            data={"csrfmiddlewaretoken": token, "username": username, "password": password},
            headers={"Referer": f"{server.http_url}/admin/login/"},
        )
        return response.status_code


async def test_failed_logins_lock_out_the_account_and_the_address(asgi_server):
    users = get_user_model().objects
    for name in ("boss", "clerk"):
        await sync_to_async(users.create_superuser)(name, password="the-right-password-9")

    # 100 guesses at one account, each from another address: the account locks, not just an address
    codes = [await asyncio.to_thread(login, asgi_server, "boss", f"guess-{i}", f"10.0.1.{i}") for i in range(100)]
    assert codes[:4] == [200] * 4 and set(codes[4:]) == {429}  # 200: the form again, with an error
    assert await asyncio.to_thread(login, asgi_server, "boss", "the-right-password-9", "10.0.2.1") == 429

    # guesses at many accounts from one address: the address locks, for every account
    for i in range(5):
        await asyncio.to_thread(login, asgi_server, f"nobody-{i}", "guess", "10.0.3.1")
    assert await asyncio.to_thread(login, asgi_server, "clerk", "the-right-password-9", "10.0.3.1") == 429
    # the same account from an address that did nothing wrong still logs in
    assert await asyncio.to_thread(login, asgi_server, "clerk", "the-right-password-9", "10.0.4.1") == 302


# --- WebSocket --------------------------------------------------------------------------------------


async def test_nested_frames_and_resume_values_get_an_error_not_a_dropped_socket(asgi_server, live_tournament):
    path = f"ws/tournament/{live_tournament.id}/"
    spectator = await Spectator.connect(asgi_server, path)
    await spectator.wait_for(is_type("snapshot"))
    await spectator.send(deeply_nested(2000))  # under the frame size limit, over json's recursion limit
    await spectator.wait_for(is_type("error", code="bad_json"))
    await spectator.send({"type": "ping"})
    await spectator.wait_for(is_type("pong"))
    assert not spectator.closed.is_set()
    await spectator.close()

    for resume in (deeply_nested(1200), '{"epoch": "e", "sequences": ' + deeply_nested(1000) + "}", "x" * 7000):
        resumed = await Spectator.connect(asgi_server, f"{path}?resume={quote(resume)}")
        await resumed.wait_for(is_type("error", code="bad_resume"))
        snapshot = await resumed.wait_for(is_type("snapshot"))
        assert snapshot["data"]["resume_failed"] is True
        await resumed.close()


def raw_handshake(server: AsgiServer, target: str, extra_headers: str = "") -> tuple[bytes, float]:
    """A WebSocket handshake written by hand: the server's first answer line, and how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(
            (
                f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: {server.http_url}\r\n{extra_headers}\r\n"
            ).encode()
        )
        return connection.recv(100).split(b"\r\n")[0], time.monotonic() - started


async def test_oversized_handshakes_are_refused_at_once(asgi_server, live_tournament):
    path = f"/ws/tournament/{live_tournament.id}/"
    status_line, took = await asyncio.to_thread(raw_handshake, asgi_server, f"{path}?resume={'a' * 10_000}")
    assert status_line.startswith(b"HTTP/1.1 414") and took < 2
    status_line, took = await asyncio.to_thread(raw_handshake, asgi_server, path, f"X-Junk: {'b' * 10_000}\r\n")
    assert status_line.startswith(b"HTTP/1.1 431") and took < 2
    status_line, _ = await asyncio.to_thread(raw_handshake, asgi_server, path)
    assert status_line == b"HTTP/1.1 101 Switching Protocols"


async def handshake_status(server: AsgiServer, path: str, origin: str | None = None) -> int:
    try:
        socket_ = await websockets.connect(server.ws_url(path), origin=origin or server.http_url, open_timeout=10)
    except websockets.InvalidStatus as refused:
        return refused.response.status_code
    await socket_.close()
    return 101


async def test_unknown_socket_paths_are_refused_with_404_at_the_handshake(asgi_server, live_tournament):
    for path in ("ws/foo/", "ws/tournament/abc/", f"ws/tournament/{live_tournament.id}", "ws/", "api/tournaments/1/",
                 f"tournaments/{live_tournament.id}/", "ws/match/-1/", "ws/tournament/1/extra/"):  # fmt: skip
        assert await handshake_status(asgi_server, path) == 404, path


async def test_origins_are_compared_by_scheme_host_and_port(server_env, live_tournament):
    server = AsgiServer({**server_env, "WEBSOCKET_ALLOWED_ORIGINS": "https://partner.example"})
    try:
        path = f"ws/tournament/{live_tournament.id}/"
        port = server.port
        assert await handshake_status(server, path, f"http://127.0.0.1:{port}") == 101  # the site itself
        assert await handshake_status(server, path, "https://partner.example") == 101
        assert await handshake_status(server, path, "https://partner.example:443") == 101
        for origin in (
            f"http://127.0.0.1:{port + 1}",  # another port of the same host
            f"https://127.0.0.1:{port}",  # another scheme
            "https://localhost",
            f"http://localhost:{port}",  # another host name for the same machine
            "http://partner.example",
            "https://partner.example:8443",
            "https://evil.partner.example",
            "null",
            "not an origin",
        ):
            assert await handshake_status(server, path, origin) == 403, origin
    finally:
        server.stop()


async def test_viewers_count_exactly_the_open_connections_however_they_end(server_env, live_tournament):
    ttl = 1.5
    server = AsgiServer({**server_env, "REALTIME_VIEWER_TTL_S": str(ttl)})
    try:
        path = f"ws/tournament/{live_tournament.id}/"
        staying = [await Spectator.connect(server, path) for _ in range(3)]
        for spectator in staying:
            await spectator.wait_for(is_type("snapshot"))

        async def flood_without_reading() -> int | None:
            flooder = await websockets.connect(server.ws_url(path), origin=server.http_url, max_queue=1)
            try:
                for _ in range(400):
                    await flooder.send('{"type": "ping"}')
            except websockets.ConnectionClosed:
                pass
            return flooder  # never read from, never closed by the client

        flooders = await asyncio.gather(*(flood_without_reading() for _ in range(20)))
        leaving = [await Spectator.connect(server, path) for _ in range(3)]
        for spectator in leaving:
            await spectator.wait_for(is_type("snapshot"))
        await leaving[0].close()  # a clean close
        leaving[1].socket.transport.abort()  # the network went away
        await leaving[2].send("y" * 70_000)  # over the server's frame size limit: the server closes
        await wait_for_viewers(server, live_tournament.id, 3, timeout=10)
        await asyncio.sleep(ttl * 2)  # several refresh periods: nothing that ended may come back
        assert await viewers_of(server, live_tournament.id) == 3
        for flooder in flooders:
            flooder.transport.abort()
        for spectator in staying:
            await spectator.close()
        await wait_for_viewers(server, live_tournament.id, 0, timeout=10)
        # and no consumer crashed on the way (a second close of a flooder would have)
        assert server.process.count("Exception in ASGI application") == 0, "".join(server.process.output[-40:])
    finally:
        server.stop()


async def test_connections_are_capped_per_address_and_per_process(server_env, live_tournament):
    path = f"ws/tournament/{live_tournament.id}/"
    for limits, allowed in (
        ({"REALTIME_MAX_CONNECTIONS_PER_ADDRESS": "3"}, 3),
        ({"REALTIME_MAX_CONNECTIONS": "2", "REALTIME_MAX_CONNECTIONS_PER_ADDRESS": "100"}, 2),
    ):
        server = AsgiServer({**server_env, **limits})
        try:
            admitted = [await Spectator.connect(server, path) for _ in range(allowed)]
            for spectator in admitted:
                await spectator.wait_for(is_type("snapshot"))
            refused = await Spectator.connect(server, path)
            await refused.closed.wait()
            assert refused.close_code == 1013 and refused.frames == [], limits
            await admitted[0].close()  # a place frees up when a connection ends
            await wait_for_viewers(server, live_tournament.id, allowed - 1, timeout=10)
            again = await Spectator.connect(server, path)
            await again.wait_for(is_type("snapshot"))
            assert await viewers_of(server, live_tournament.id) == allowed
        finally:
            server.stop()


def fuzzed_resume_values(rng: random.Random, count: int) -> list[str]:
    makers = [
        lambda: deeply_nested(rng.randrange(1, 2000)),
        lambda: json.dumps({"epoch": rng.choice(["", "x", 5, None]), "sequences": rng.choice([{}, [], "m:1", None])}),
        lambda: json.dumps(
            {
                "epoch": "e",
                "sequences": {
                    f"m:{i}": rng.choice([1, -1, 2**70, "1", True, 1.5]) for i in range(rng.randrange(0, 3000))
                },
            }
        ),  # fmt: skip
        lambda: "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(0, 300))),
        lambda: "%" * rng.randrange(1, 50),
    ]
    return [rng.choice(makers)() for _ in range(count)]


def fuzzed_paths(rng: random.Random, count: int) -> list[str]:
    pieces = ["ws", "tournament", "match", "1", "-1", "abc", "", "..", "%00", "%2F", "9" * 30, "é", "ws/tournament/1"]
    return ["/".join(rng.choice(pieces) for _ in range(rng.randrange(1, 6))) for _ in range(count)]


async def test_fuzzed_resume_values_and_handshake_paths_never_break_the_server(asgi_server, live_tournament):
    crashes_before = asgi_server.process.count("Exception in ASGI application")
    rng = random.Random(13)
    path = f"ws/tournament/{live_tournament.id}/"
    for resume in fuzzed_resume_values(rng, 40):
        query = quote(resume)
        if len(query) > 7000:  # a handshake over 8 KiB is refused before any consumer runs (tested above)
            continue
        spectator = await Spectator.connect(asgi_server, f"{path}?resume={query}")
        await spectator.wait_for(lambda frame: frame["type"] in {"snapshot", "resumed"})
        await spectator.close()
    for fuzzed in fuzzed_paths(rng, 60):
        status = await handshake_status(asgi_server, quote(fuzzed, safe="/%"))
        assert status in {101, 404}, fuzzed
    healthy = await Spectator.connect(asgi_server, path)
    await healthy.wait_for(is_type("snapshot"))
    await healthy.close()
    assert asgi_server.process.count("Exception in ASGI application") == crashes_before
