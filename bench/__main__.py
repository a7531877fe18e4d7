"""Benchmark of the coalescing engine: `make bench` (or `python -m bench` with REDIS_URL set).

Every figure is a ratio to a baseline measured in the same run, on the same Redis:
  - score update call (realtime.broadcast.submit_live_score), amortized over bursts, vs one EVALSHA
    round trip of a small script; also vs one Celery apply_async (what one enqueue per update costs);
  - Celery enqueues per update while one match receives 100 updates/s (a real worker flushing): flush
    tasks (<= 0.1), and save tasks (at most one per save interval: the database's writes);
  - broadcasts per room for a 100-update burst.
Enqueues and broadcasts are counted by Redis itself (LPUSH and PUBLISH in INFO commandstats).
"""

from __future__ import annotations

import atexit
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import django

# The worker's flushes save scores to a database: a scratch one, migrated in main(), shared with it.
_scratch = Path(tempfile.mkdtemp(prefix="bench-"))
atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
os.environ["DATABASE_URL"] = f"sqlite:///{_scratch / 'bench.sqlite3'}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from project import processes  # noqa: E402
from realtime import broadcast  # noqa: E402
from realtime.store import keys  # noqa: E402
from realtime.store.keys import Room  # noqa: E402
from realtime.store.scripts import client  # noqa: E402
from realtime.tasks import flush_match  # noqa: E402

MATCHES = 20
BURST = 100
REPEATS = 5
ROUNDS = 9  # paired rounds of score updates and baseline calls


def command_calls(command: str) -> int:
    stats = client().info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


def post_score(match_id: int, tournament_id: int, points: int) -> None:
    """One live score, as the domain posts it (trusted: no officials check); the bench's matches
    exist only in Redis, so a gate Redis does not know (or whose lease ran out) is primed live."""
    for _ in range(2):
        submitted = broadcast.submit_live_score(
            match_id=match_id,
            tournament_id=tournament_id,
            participant1=points,
            participant2=0,
            user_id=None,
            max_score=10**6,
        )
        if submitted.accepted:
            return
        start_match(match_id, tournament_id)
    raise RuntimeError(f"score refused: {submitted.status}")


def start_match(match_id: int, tournament_id: int) -> None:
    """The match's gate, live, as starting a match leaves it in Redis (it is read again from the
    database only once per gate lease)."""
    broadcast.prime_match(
        match_id=match_id, tournament_id=tournament_id, state="live", version=1, score=(0, 0, 0), game=1
    )


def per_call_us(fn, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - started) / count * 1e6


def median_of(fn, count: int) -> float:
    return statistics.median(per_call_us(fn, count) for _ in range(REPEATS))


def baseline_evalsha() -> Callable[[], object]:
    """One EVALSHA round trip of a small script, on the client the score path uses."""
    script = client().register_script(
        "local v = redis.call('HINCRBY', KEYS[1], 'n', 1) redis.call('EXPIRE', KEYS[1], 60) return v"
    )
    script(keys=["bench:evalsha"])  # load it
    return lambda: script(keys=["bench:evalsha"])


def baseline_enqueue_us() -> float:
    # A task with a countdown far in the future to a queue nobody consumes: the pure enqueue cost.
    return median_of(lambda: flush_match.apply_async((0, 0, 0), countdown=3600, queue="bench-void"), 500)


def score_updates_and_baseline_us(rounds: int = ROUNDS) -> tuple[float, float, float]:
    """(score update µs, EVALSHA µs, the median of the rounds' ratios of the two).

    A score update's cost is amortized over a burst of BURST updates on each of MATCHES live matches
    (new matches each round, started before it is timed: each round pays its flush enqueues). Rounds
    alternate a burst set with as many baseline calls, so that the machine's drift (a shared VM's
    loopback is slower one minute than the next) weighs on both sides of each ratio alike."""
    evalsha = baseline_evalsha()
    updates, baselines, ratios = [], [], []
    for repeat in range(rounds):
        for match_id in range(1, MATCHES + 1):
            start_match(repeat * 1000 + match_id, 1)
        started = time.perf_counter()
        for match_id in range(1, MATCHES + 1):
            for score in range(BURST):
                post_score(repeat * 1000 + match_id, 1, score)
        updates.append((time.perf_counter() - started) / (MATCHES * BURST) * 1e6)
        baselines.append(per_call_us(evalsha, MATCHES * BURST))
        ratios.append(updates[-1] / baselines[-1])
    return statistics.median(updates), statistics.median(baselines), statistics.median(ratios)


PACED_SECONDS = 3.0


def enqueues_per_update_at_100_per_s(seconds: float = PACED_SECONDS) -> tuple[float, int]:
    """(flush enqueues per update, save tasks in all) while one match gets 100 updates a second.
    Every Celery enqueue is one LPUSH; the match's hash counts the save tasks it scheduled."""
    lpush_before = command_calls("lpush")
    updates = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        updates += 1
        post_score(90_001, 1, updates)
        time.sleep(max(0.0, updates * 0.01 - elapsed))  # pace: 100 updates per second
    saves = int(client().hget(keys.match_state(90_001), "save_tasks") or 0)
    return (command_calls("lpush") - lpush_before - saves) / updates, saves


def broadcasts_per_room_for_a_burst() -> float:
    pubsub = client().pubsub()
    rooms = [Room.tournament(2).channel, Room.match(90_002).channel]
    pubsub.subscribe(*rooms)
    for score in range(BURST):
        post_score(90_002, 2, score)
    deadline = time.monotonic() + settings.REALTIME_WINDOW_MS / 1000 * 10
    received = {room: 0 for room in rooms}
    while time.monotonic() < deadline:  # collect for ten windows: anything later would be a bug anyway
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
        if message:
            received[message["channel"].decode()] += 1
    pubsub.close()
    return max(received.values()) if len(set(received.values())) == 1 else float("nan")


def start_worker() -> subprocess.Popen:
    worker = subprocess.Popen(
        processes.celery_worker(f"bench-{os.getpid()}@%h"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    for line in worker.stdout:
        if processes.WORKER_READY in line:
            threading.Thread(target=worker.stdout.read, daemon=True).start()  # keep the pipe drained
            return worker
    raise RuntimeError("the Celery worker did not start")


def main() -> None:
    client().flushdb()
    call_command("migrate", verbosity=0)
    # The call-cost figures are the caller's own cost, measured on a quiet machine (baseline too);
    # the worker that flushes runs only for the figures that need flushing.
    update, evalsha, ratio = score_updates_and_baseline_us()
    enqueue = baseline_enqueue_us()
    worker = start_worker()
    try:
        enqueues, saves = enqueues_per_update_at_100_per_s()
        broadcasts = broadcasts_per_room_for_a_burst()
    finally:
        worker.terminate()
        worker.wait()
        client().flushdb()

    save_intervals = math.ceil(PACED_SECONDS * 1000 / settings.REALTIME_SAVE_INTERVAL_MS)
    rows = [
        (
            "score update call, amortized (µs)",
            f"{update:.0f}",
            f"EVALSHA {evalsha:.0f} µs",
            f"{ratio:.2f}×",
            "≤ 1.5×",
            ratio <= 1.5,
        ),
        (
            "  same, vs one Celery enqueue",
            f"{update:.0f}",
            f"apply_async {enqueue:.0f} µs",
            f"{update / enqueue:.2f}×",
            "(info)",
            True,
        ),
        (
            "Celery flush enqueues per update, 100 updates/s",
            f"{enqueues:.3f}",
            "1 per update (naive)",
            f"{enqueues:.3f}×",
            "≤ 0.1",
            enqueues <= 0.1,
        ),
        (
            f"  save tasks in those {PACED_SECONDS:g} s ({100 * PACED_SECONDS:g} updates)",
            f"{saves}",
            f"{save_intervals} save intervals begun ({settings.REALTIME_SAVE_INTERVAL_MS} ms)",
            "-",
            "≤ 1 per interval",
            saves <= save_intervals,
        ),
        (f"broadcasts per room, {BURST}-update burst", f"{broadcasts:g}", "-", "-", "exactly 1", broadcasts == 1),
    ]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"\nCoalescing benchmark — {date.today().isoformat()} — {machine}")
    print(
        f"window {settings.REALTIME_WINDOW_MS} ms, max-wait {settings.REALTIME_MAX_WAIT_MS} ms, "
        f"{MATCHES} matches × {BURST}-update bursts, median of {ROUNDS} rounds paired with the baseline\n"
    )
    print("| metric | measured | baseline (same run) | ratio | target | ok |")
    print("|---|---|---|---|---|---|")
    for metric, measured, baseline, ratio, target, ok in rows:
        print(f"| {metric} | {measured} | {baseline} | {ratio} | {target} | {'yes' if ok else 'NO'} |")
    if not all(row[-1] for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
