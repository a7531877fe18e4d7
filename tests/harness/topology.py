"""Chaos topology run: two ASGI processes, two Celery workers and beat on one
Redis; writers post random score updates and completions over HTTP to both servers; spectators
on both servers check every invariant; one worker is SIGKILLed halfway. When the writers stop, the
database must come to hold the last acknowledged live score of every match still live (the newest
202 by score version), within a save interval and a sweep.

    make chaos OPS=5000            # the long run, on a fresh database (docs/operations.md)
    make chaos DATABASE=postgres   # the same on a fresh PostgreSQL (the pgserver wheel), row locks and all
    (tests/e2e/test_topology.py runs a short one in the suite)

Prints a JSON report; `violations` must be empty.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import logging
import os
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from django.conf import settings

from .polling import until
from .processes import AsgiServer, start_beat, start_worker
from .spectators import Spectator, is_type

PARTICIPANTS = 64  # 32 first-round matches; LIVE_MATCHES of them are played
LIVE_MATCHES = 20


@dataclass
class Report:
    operations: int = 0
    accepted: int = 0
    refused: int = 0
    seconds: float = 0.0
    frames_checked: int = 0
    spectators: int = 0
    worker_killed: bool = False
    live_scores_checked: int = 0
    violations: list[str] = field(default_factory=list)


def create_tournament() -> tuple[int, list[int], str]:
    """A public 64-player tournament with LIVE_MATCHES first-round matches live; (id, matches, token)."""
    from . import factories

    organizer = factories.user_with_token(f"chaos-{time.monotonic_ns()}")
    tournament = factories.tournament(organizer, PARTICIPANTS, live=LIVE_MATCHES, name="Chaos Cup")
    match_ids = list(tournament.matches.filter(state="live").order_by("position").values_list("id", flat=True))
    return tournament.id, match_ids, organizer.api_token


async def run(env: dict[str, str], tournament_id: int, match_ids: list[int], token: str, operations: int,
              writers: int = 4, seed: int = 0, tmp_dir: Path | None = None) -> Report:  # fmt: skip
    env = {**env, "SCORE_THROTTLE_RATE": "1000000/min"}
    tmp_dir = tmp_dir or Path(tempfile.mkdtemp(prefix="chaos-"))
    report = Report(operations=operations)
    servers = [AsgiServer(env), AsgiServer(env)]
    room_window_s = int(env.get("REALTIME_ROOM_WINDOW_MS") or settings.REALTIME_ROOM_WINDOW_MS) / 1000
    workers = [start_worker(env), start_worker(env)]
    beat = start_beat({**env, "REALTIME_SWEEP_INTERVAL_S": "1"}, tmp_dir)
    rng = random.Random(seed)
    try:
        watched: list[tuple[Spectator, list[int]]] = []
        for index, server in enumerate(servers):
            watched.append((await Spectator.connect(server, f"ws/tournament/{tournament_id}/"), match_ids))
            for match_id in match_ids[index::4]:
                watched.append((await Spectator.connect(server, f"ws/match/{match_id}/"), [match_id]))
        for spectator, _ in watched:
            await spectator.wait_for(is_type("snapshot"))
        report.spectators = len(watched)

        clients = [httpx.AsyncClient(base_url=s.http_url, headers={"Authorization": f"Token {token}"}, timeout=30)
                   for s in servers]  # fmt: skip
        scores = {match_id: [0, 0] for match_id in match_ids}
        # The newest live score each match acknowledged (score_version, p1, p2), and the completed ones.
        acknowledged: dict[int, tuple[int, int, int]] = {}
        completed: set[int] = set()
        complete_chance = len(match_ids) / 2 / operations  # about half the matches end during the run
        done = 0

        async def writer(count: int) -> None:
            nonlocal done
            for _ in range(count):
                match_id = rng.choice(match_ids)
                score = scores[match_id]
                score[rng.randrange(2)] += 1
                if rng.random() < complete_chance:
                    path, body = "complete", {"participant1_score": score[0], "participant2_score": score[0] + 1}
                else:
                    path, body = "score", {"participant1_score": score[0], "participant2_score": score[1]}
                response = await rng.choice(clients).post(f"/api/matches/{match_id}/{path}/", json=body)
                if response.status_code in (200, 202):
                    report.accepted += 1
                    if response.status_code == 200:
                        completed.add(match_id)
                    else:
                        taken = response.json()
                        taken = (taken["score_version"], taken["participant1_score"], taken["participant2_score"])
                        acknowledged[match_id] = max(acknowledged.get(match_id, taken), taken)
                elif response.status_code == 409:  # another writer completed it first
                    report.refused += 1
                else:
                    report.violations.append(f"POST {path} -> {response.status_code}: {response.text[:200]}")
                done += 1
                if not report.worker_killed and done >= operations // 2:
                    workers[0].kill()  # mid-burst: its countdown flushes are lost; the sweep recovers them
                    report.worker_killed = True

        started = time.monotonic()
        await asyncio.gather(*(writer(operations // writers) for _ in range(writers)))
        expected = {match_id: score[1:] for match_id, score in acknowledged.items() if match_id not in completed}
        report.violations.extend(await check_database(expected))
        report.live_scores_checked = len(expected)
        # finish every match, so each stream ends with a match_completed to compare with the database
        for match_id in match_ids:
            s1, s2 = scores[match_id]
            await clients[0].post(f"/api/matches/{match_id}/complete/",
                                  json={"participant1_score": s1 + s2 + 1, "participant2_score": 0})  # fmt: skip
        state = (await clients[1].get(f"/api/tournaments/{tournament_id}/")).json()
        final = {m["id"]: (m["participant1_score"], m["participant2_score"], m["winner_id"]) for m in state["matches"]}
        for spectator, matches in watched:
            for match_id in matches:
                try:
                    await spectator.wait_for(is_type("match_completed", match_id=match_id), timeout=30)
                except (AssertionError, TimeoutError):
                    report.violations.append(f"match {match_id}: no match_completed reached a spectator")
                    continue
                report.violations.extend(check(spectator.match_frames(match_id), match_id, final[match_id]))
                report.frames_checked += len(spectator.match_frames(match_id))
            report.violations.extend(check_batches(spectator.batches, room_window_s))
        report.seconds = round(time.monotonic() - started, 1)
        for spectator, _ in watched:
            await spectator.close()
        for client in clients:
            await client.aclose()
    finally:
        for process in (*servers, *workers, beat):
            process.stop()
    return report


def check(frames: list[dict], match_id: int, final: tuple[int, int, int]) -> list[str]:
    """Invariants 3 and 5 for one spectator and one match, and the final state against the database."""
    problems = []
    sequences = [f["data"]["sequence"] for f in frames]
    if sequences != sorted(set(sequences)):
        problems.append(f"match {match_id}: sequences not strictly increasing: {sequences}")
    types = [f["type"] for f in frames]
    completed = types.index("match_completed")
    if "score_updated" in types[completed:]:
        problems.append(f"match {match_id}: a score_updated after match_completed")
    data = frames[completed]["data"]
    if (data["participant1_score"], data["participant2_score"], data["winner_id"]) != final:
        problems.append(f"match {match_id}: completed with {data}, database has {final}")
    return problems


async def check_database(expected: dict[int, tuple[int, int]], timeout: float = 30) -> list[str]:
    """Nothing acknowledged is lost: the database comes to hold each live match's last acknowledged
    score (within a save interval and a sweep; a killed worker's save is the sweep's)."""
    from asgiref.sync import sync_to_async

    from tournaments.models import Match

    def stored() -> dict[int, tuple[int, int]]:
        rows = Match.objects.filter(pk__in=expected).values_list("id", "participant1_score", "participant2_score")
        return {match_id: (p1, p2) for match_id, p1, p2 in rows}

    try:
        await until(sync_to_async(stored), expected, timeout=timeout, what="the database's live scores")
    except AssertionError:
        held = await sync_to_async(stored)()
        return [
            f"match {match_id}: the database holds {held.get(match_id)}, the last acknowledged score is {score}"
            for match_id, score in expected.items()
            if held.get(match_id) != score
        ]
    return []


def check_batches(batches: list[tuple[float, list[int]]], window_s: float) -> list[str]:
    """A bracket-page socket's batches: one entry per match at most, and at most one batch per room
    window (counted over the run, with one batch of slack for the client's own scheduling jitter)."""
    problems = [f"a batch carried match {ids} twice or more" for _, ids in batches if len(set(ids)) != len(ids)]
    if len(batches) > 1:
        allowed = (batches[-1][0] - batches[0][0]) / window_s + 2
        if len(batches) > allowed:
            problems.append(f"{len(batches)} batches in {batches[-1][0] - batches[0][0]:.2f}s: over one per window")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    options = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("REDIS_URL is not set: run it with `make chaos`")
    work = Path(tempfile.mkdtemp(prefix="chaos-"))
    if options.database == "postgres":
        import urllib.parse

        import pgserver

        logging.getLogger("pgserver").setLevel(logging.WARNING)
        server = pgserver.get_server(work / "pg", cleanup_mode="stop")
        atexit.register(server.cleanup)
        os.environ["DATABASE_URL"] = f"postgres://postgres@{urllib.parse.quote(str(work / 'pg'), safe='')}/postgres"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{work / 'chaos.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django
    from django.core.management import call_command

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    tournament_id, match_ids, token = create_tournament()
    report = asyncio.run(run(dict(os.environ), tournament_id, match_ids, token, options.ops, options.writers,
                             options.seed, work))  # fmt: skip
    print(json.dumps({"database": options.database, **asdict(report)}, indent=2))
    sys.exit(1 if report.violations else 0)


if __name__ == "__main__":
    main()
