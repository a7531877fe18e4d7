"""Webhooks against a real HTTP receiver on loopback, sent by a real Celery worker on its own queue:
signatures checked by an independent implementation, retries after failures and after a receiver
that hangs, a worker SIGKILLed mid-delivery (the event still arrives), in order per match, disabled
after failures and enabled again. The receiver is on 127.0.0.1, so these run with
WEBHOOKS_ALLOW_PRIVATE_TARGETS (the refusal of private targets is tested without it)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import playwright
import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from project.localredis import free_port
from tests.harness import factories
from tests.harness.processes import start_beat, start_worker
from tests.integration.test_organizers_api import as_
from tournaments import services
from tournaments.models import Match
from webhooks.models import Delivery, Webhook

ROOT = Path(__file__).resolve().parents[2]
NODE = str(Path(playwright.__file__).parent / "driver" / "node")  # the Node.js that Playwright ships
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]
FAST = {
    "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1", "WEBHOOK_RETRY_BASE_S": "0.2", "WEBHOOK_TIMEOUT_S": "1",
    "WEBHOOK_LEASE_S": "2", "WEBHOOK_SWEEP_INTERVAL_S": "0.5", "WEBHOOK_DISABLE_AFTER": "4",
}  # fmt: skip


@dataclass
class Receiver:
    """An integrator's server: answers each POST with the next of `answers` (then 200), recording it."""

    answers: list = field(default_factory=list)  # 200, 500, "hang" (longer than the timeout), or an Event to wait on
    received: list[dict] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    url: str = ""

    def wait_for(self, condition, what: str, timeout: float = 20) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: condition(self.received), timeout):
                raise AssertionError(f"{what} within {timeout}s; received {[r['type'] for r in self.received]}")

    def events(self) -> list[dict]:
        """What the receiver took (answered 2xx), in arrival order."""
        return [r for r in self.received if r["answered"] == 200]


@contextmanager
def receiver(*answers) -> Iterator[Receiver]:
    state = Receiver(list(answers))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            with state.changed:
                answer = state.answers.pop(0) if state.answers else 200
            if answer == "hang":
                time.sleep(3)
                answer = 200
            elif isinstance(answer, threading.Event):
                answer.wait(30)
                return  # the sender is gone: nothing to answer
            entry = {"headers": dict(self.headers), "body": body, "type": json.loads(body)["type"], "answered": answer}
            with state.changed:
                state.received.append(entry)
                state.changed.notify_all()
            self.send_response(answer)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def webhooks_worker(server_env):
    worker = start_worker({**server_env, **FAST}, queue="webhooks")
    yield worker
    worker.stop()


def verify(secret: str, headers: dict, body: str) -> bool:
    """The receiver's check, written from the documentation: HMAC-SHA256 of "timestamp.body"."""
    expected = hmac.new(secret.encode(), f"{headers['X-Webhook-Timestamp']}.{body}".encode(), hashlib.sha256)
    offered = [part.strip().removeprefix("sha256=") for part in headers["X-Signature"].split(",")]
    return any(hmac.compare_digest(expected.hexdigest(), signature) for signature in offered)


def documented_example(language: str) -> str:
    """The `genuine` function docs/integrations.md shows receivers, in `language`."""
    text = (ROOT / "docs" / "integrations.md").read_text()
    return next(block for block in text.split(f"```{language}\n")[1:] if "genuine" in block).split("```")[0]


def documented_checks(secret: str, headers: dict, body: str) -> tuple[bool, bool]:
    """What the documentation's Python and JavaScript examples say of a delivery (run as written)."""
    namespace: dict = {}
    exec(documented_example("python"), namespace)  # noqa: S102 - our own documentation
    python = namespace["genuine"](secret, headers, body.encode())
    lowered = {key.lower(): value for key, value in headers.items()}
    script = documented_example("javascript") + (
        f"process.stdout.write(String(genuine({json.dumps(secret)}, {json.dumps(lowered)}, "
        f"Buffer.from({json.dumps(body)}))));"
    )
    node = subprocess.run([NODE, "-e", script], capture_output=True, text=True, timeout=30, check=True).stdout
    return python, node == "true"


def hook(organizer, tournament_id: int, url: str, events: list[str]) -> dict:
    with override_settings(WEBHOOKS_ALLOW_PRIVATE_TARGETS=True):
        response = as_(organizer).post(
            f"/api/tournaments/{tournament_id}/webhooks/", {"url": url, "events": events}, format="json"
        )
    assert response.status_code == 201, response.json()
    return response.json()


def play(match_id: int, scores: tuple[int, int] = (3, 1)) -> None:
    services.start_match(match_id=match_id)
    services.complete_match(match_id=match_id, participant1_score=scores[0], participant2_score=scores[1])


async def test_events_arrive_signed_in_order_once_each_and_the_log_says_so(webhooks_worker, organizer):
    tournament = await sync_to_async(factories.tournament)(organizer, 2, live=0)
    match = await sync_to_async(Match.objects.get)(tournament=tournament)
    with receiver() as server:
        created = await sync_to_async(hook)(organizer, tournament.id, server.url,
                                            ["match_started", "match_completed", "tournament_completed"])  # fmt: skip
        assert created["secret"].startswith("whsec_")
        await sync_to_async(play)(match.id)
        await sync_to_async(server.wait_for)(lambda r: len(r) >= 3, "three events")
        got = server.events()
        assert [r["type"] for r in got] == ["match_started", "match_completed", "tournament_completed"]
        for request in got:
            assert verify(created["secret"], request["headers"], request["body"]), request["headers"]
            assert not verify("whsec_wrong", request["headers"], request["body"])
            assert request["headers"]["X-Webhook-Id"] == json.loads(request["body"])["id"]
        # The documentation's examples, in Python and in JavaScript (node), agree.
        assert documented_checks(created["secret"], got[0]["headers"], got[0]["body"]) == (True, True)
        assert documented_checks("whsec_wrong", got[0]["headers"], got[0]["body"]) == (False, False)
        tampered = got[0]["body"].replace('"match_started"', '"match_startes"')
        assert documented_checks(created["secret"], got[0]["headers"], tampered) == (False, False)
        completed = json.loads(got[1]["body"])
        assert completed["data"]["match_id"] == match.id and completed["data"]["participant1_score"] == 3
        assert len({r["headers"]["X-Webhook-Id"] for r in got}) == 3
        log = await sync_to_async(lambda: as_(organizer).get(f"/api/webhooks/{created['id']}/deliveries/").json())()
        assert [(d["event_type"], d["state"], d["attempts"]) for d in log] == [
            ("tournament_completed", "delivered", 1),
            ("match_completed", "delivered", 1),
            ("match_started", "delivered", 1),
        ]


async def test_a_receiver_that_fails_twice_then_a_hanging_one_get_the_event_retried_and_still_in_order(
    webhooks_worker, organizer
):
    tournament = await sync_to_async(factories.tournament)(organizer, 2, live=0)
    match = await sync_to_async(Match.objects.get)(tournament=tournament)
    with receiver(500, 503, "hang") as server:
        created = await sync_to_async(hook)(organizer, tournament.id, server.url, ["match_started", "match_completed"])
        await sync_to_async(play)(match.id)
        await sync_to_async(server.wait_for)(lambda r: len([x for x in r if x["answered"] == 200]) >= 2, "both")
        assert [r["type"] for r in server.received] == ["match_started", "match_started", "match_started",
                                                         "match_completed"]  # fmt: skip
        assert [r["answered"] for r in server.received] == [500, 503, 200, 200]  # the hang: no answer in time
        started = await sync_to_async(Delivery.objects.get)(webhook_id=created["id"], event_type="match_started")
        assert (started.state, started.attempts) == ("delivered", 4)  # 500, 503, a timeout, then taken
        ids = {r["headers"]["X-Webhook-Id"] for r in server.received if r["type"] == "match_started"}
        assert len(ids) == 1  # every retry the same event: the receiver dedupes by id


async def test_a_worker_killed_mid_delivery_loses_no_event(server_env, organizer, tmp_path):
    worker = start_worker({**server_env, **FAST}, queue="webhooks")
    beat = start_beat({**server_env, **FAST}, tmp_path)
    stuck = threading.Event()
    try:
        tournament = await sync_to_async(factories.tournament)(organizer, 2, live=0)
        match = await sync_to_async(Match.objects.get)(tournament=tournament)
        with receiver(stuck) as server:
            await sync_to_async(hook)(organizer, tournament.id, server.url, ["match_started"])
            await sync_to_async(services.start_match)(match_id=match.id)
            await sync_to_async(worker.wait_for_output)("webhooks.tasks.deliver", timeout=20)
            worker.kill()  # SIGKILL while the receiver holds the request
            stuck.set()
            worker = start_worker({**server_env, **FAST}, queue="webhooks")
            await sync_to_async(server.wait_for)(lambda r: len(r) >= 1, "the event, after the lease ran out")
            assert server.events()[0]["type"] == "match_started"
    finally:
        stuck.set()
        beat.stop()
        worker.stop()


async def test_a_webhook_failing_again_and_again_is_disabled_and_enabled_again_by_its_organizer(
    server_env, organizer, tmp_path
):
    worker = start_worker({**server_env, **FAST}, queue="webhooks")
    beat = start_beat({**server_env, **FAST}, tmp_path)
    try:
        tournament = await sync_to_async(factories.tournament)(organizer, 2, live=0)
        match = await sync_to_async(Match.objects.get)(tournament=tournament)
        with receiver(500, 500, 500, 500) as server:
            created = await sync_to_async(hook)(organizer, tournament.id, server.url, ["match_started"])
            await sync_to_async(services.start_match)(match_id=match.id)
            await sync_to_async(server.wait_for)(lambda r: len(r) >= 4, "four failed attempts")
            deadline = time.monotonic() + 10
            while (await sync_to_async(Webhook.objects.get)(pk=created["id"])).enabled:
                assert time.monotonic() < deadline, "the webhook was not disabled"
                await asyncio.sleep(0.1)  # polling the database with a deadline: a disabled flag sends no event
            state = await sync_to_async(lambda: as_(organizer).get(f"/api/webhooks/{created['id']}/").json())()
            assert not state["enabled"] and "4 failed attempts" in state["disabled_reason"]
            enabled = await sync_to_async(
                lambda: as_(organizer).patch(f"/api/webhooks/{created['id']}/", {"enabled": True}, format="json")
            )()
            assert enabled.status_code == 200 and enabled.json()["enabled"]
            await sync_to_async(server.wait_for)(lambda r: any(x["answered"] == 200 for x in r), "the event, at last")
    finally:
        beat.stop()
        worker.stop()


def test_bad_webhooks_are_refused_with_the_reason_and_nothing_is_stored(organizer):
    tournament = factories.tournament(organizer, 2, live=0)
    path = f"/api/tournaments/{tournament.id}/webhooks/"
    cases = [
        ({"url": "ftp://example.com/x", "events": ["match_completed"]}, "url", "http"),
        ({"url": "http://127.0.0.1:9/x", "events": ["match_completed"]}, "url", "loopback"),
        ({"url": "http://10.1.2.3/x", "events": ["match_completed"]}, "url", "private"),
        ({"url": "http://169.254.169.254/latest", "events": ["match_completed"]}, "url", "private"),
        ({"url": "http://[::1]/x", "events": ["match_completed"]}, "url", "loopback"),
        ({"url": "http://user:pw@example.com/x", "events": ["match_completed"]}, "url", "password"),
        ({"url": "https://example.com/x", "events": ["score_updated"]}, "events", ""),
        ({"url": "https://example.com/x", "events": ["nope"]}, "events", ""),
        ({"url": "https://example.com/x", "events": []}, "events", ""),
        ({"url": "https://example.com/x", "events": "match_completed"}, "events", ""),
        ({"url": 5, "events": ["match_completed"]}, "url", ""),
    ]
    for body, field_name, words in cases:
        response = as_(organizer).post(path, body, format="json")
        assert response.status_code == 400, (body, response.json())
        error = response.json()["error"]
        assert field_name in error.get("details", {}) or error.get("field") == field_name, (body, error)
        assert words in json.dumps(error), (body, error)
    assert not Webhook.objects.exists()
    with override_settings(WEBHOOKS_ALLOW_PRIVATE_TARGETS=True, WEBHOOKS_PER_TOURNAMENT=2):
        for _ in range(2):
            assert as_(organizer).post(path, {"url": "http://127.0.0.1:9/x", "events": ["match_started"]},
                                       format="json").status_code == 201  # fmt: skip
        third = as_(organizer).post(path, {"url": "http://127.0.0.1:9/x", "events": ["match_started"]}, format="json")
        assert third.status_code == 400 and "at most 2 webhooks" in third.json()["error"]["message"]
    assert Webhook.objects.count() == 2
    # Only the tournament's organizers see and change its webhooks.
    stranger = factories.user_with_token("stranger")
    assert as_(stranger).post(path, {"url": "https://example.com", "events": ["match_started"]},
                              format="json").status_code == 403  # fmt: skip
    webhook = Webhook.objects.first()
    assert as_(stranger).get(f"/api/webhooks/{webhook.id}/deliveries/").status_code == 403
    assert as_(None).get(f"/api/webhooks/{webhook.id}/").status_code in (401, 403)
    rotated = as_(organizer).post(f"/api/webhooks/{webhook.id}/rotate-secret/").json()
    assert (
        rotated["secret"] != webhook.secret
        and "secret" not in as_(organizer).get(f"/api/webhooks/{webhook.id}/").json()
    )
